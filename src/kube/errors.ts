/** The Kubernetes API could not be reached, read or written; the message says which call and why. */
export class ClusterError extends Error {
  override name = 'ClusterError';
}
