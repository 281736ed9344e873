// Command etcd is the etcd server from go.etcd.io/etcd/server/v3, built from this wrapper module
// because that module's own replace directives stop a plain `go install` (see e2e/CONTROL-PLANE.md).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
