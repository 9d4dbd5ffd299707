// Command pause is the local node's pod sandbox: it holds the pod's
// namespaces and sleeps until told to stop, like registry.k8s.io/pause, which
// the node cannot pull.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
