package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/pflag"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

// kflags             → the flag table (name, shorthand, NoOptDefVal, type)
// kflags parse ARGS  → how kube-apiserver's own flag set parses ARGS (JSON)
func main() {
	cmd := app.NewAPIServerCommand()
	// What component-base/cli.Run does before executing the command.
	cmd.SetGlobalNormalizationFunc(cliflag.WordSepNormalizeFunc)
	fs := cmd.Flags()
	if len(os.Args) > 1 && os.Args[1] == "parse" {
		out := map[string]interface{}{}
		if err := fs.Parse(os.Args[2:]); err != nil {
			out["error"] = err.Error()
		}
		vals := map[string]string{}
		for _, n := range []string{"etcd-cafile", "etcd-certfile", "etcd-keyfile", "etcd-servers", "etcd-servers-overrides", "allow-privileged", "v"} {
			if f := fs.Lookup(n); f != nil && f.Changed {
				vals[n] = f.Value.String()
			}
		}
		out["values"] = vals
		out["args"] = fs.Args()
		b, _ := json.Marshal(out)
		fmt.Println(string(b))
		return
	}
	fs.VisitAll(func(f *pflag.Flag) {
		fmt.Printf("%s\t%s\t%s\t%s\n", f.Name, f.Shorthand, f.NoOptDefVal, f.Value.Type())
	})
}
