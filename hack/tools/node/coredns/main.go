// Command coredns is CoreDNS with the few plugins the local node needs: cluster.local
// answered from the API server by the kubernetes plugin, every other name answered
// NXDOMAIN by the template plugin. With no forward plugin compiled in, no query can
// leave the machine, whatever the Corefile says.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/template"
)

// directives is CoreDNS's plugin.cfg order, restricted to the plugins above.
var directives = []string{"bind", "ready", "health", "errors", "log", "template", "kubernetes"}

func init() { dnsserver.Directives = directives }

func main() { coremain.Run() }
