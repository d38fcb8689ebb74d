package integration

import (
	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/server"
)

// serverObserver sends the body of every Message row event the server
// hands on to ch.
func serverObserver(ch chan<- string) server.Option {
	return server.WithTxnObserver(func(tx *walrelay.Txn) {
		for _, ev := range tx.Events {
			if ev.Model != nil && ev.Model.Name == "Message" && ev.New != nil {
				b, _ := ev.New["body"].(string)
				ch <- b
			}
		}
	})
}
