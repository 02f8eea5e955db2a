// A real etcd server built from the release's own module: the same entry point as the etcd binary
// (server/v3/etcdmain.Main), used to measure the release's flag set and how it parses flags.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
