package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/unet-project/unet/shared/model"
)

// The baseline is what exporters do: a session per poll, and gosnmp's
// BulkWalkAll of the system group, ifTable and ifXTable, one after the
// other, with the same concurrency limit, max-repetitions, timeout and
// retries as the poller. It polls the devices round robin as fast as the
// workers go (or at -baseline-rate), since it may not manage the
// poller's rate; what is compared is the CPU per device poll.

var baselineRoots = []string{".1.3.6.1.2.1.1", ".1.3.6.1.2.1.2.2", ".1.3.6.1.2.1.31.1.1"}

type walkCounters struct {
	polls, failures, varbinds, retries atomic.Int64
}

func runBaseline(o childOptions) error {
	go exitOnStdinEOF()
	ts, err := readTargets(o.targets)
	if err != nil {
		return err
	}
	prof := o.profile()
	em := newEmitter(os.Stdout)
	var c walkCounters
	var errMu sync.Mutex
	errs := map[string]bool{}

	var stop atomic.Bool
	var next atomic.Int64
	var tokens chan struct{}
	if o.rate > 0 {
		tokens = make(chan struct{}, o.workers)
		go func() {
			t := time.NewTicker(time.Duration(float64(time.Second) / o.rate))
			defer t.Stop()
			for range t.C {
				if stop.Load() {
					close(tokens)
					return
				}
				select {
				case tokens <- struct{}{}:
				default:
				}
			}
		}()
	}
	poll := func(t target) {
		g := &gosnmp.GoSNMP{
			Target:             t.addr,
			Port:               uint16(prof.Port),
			Transport:          "udp",
			Context:            context.Background(),
			Timeout:            time.Duration(prof.Timeout),
			Retries:            prof.RetryCount(),
			ExponentialTimeout: true,
			MaxOids:            gosnmp.MaxOids,
			MaxRepetitions:     uint32(prof.MaxRepetitions),
		}
		g.OnRetry = func(*gosnmp.GoSNMP) { c.retries.Add(1) }
		if prof.Version == model.SNMPv3 {
			g.Version = gosnmp.Version3
			g.SecurityModel = gosnmp.UserSecurityModel
			g.MsgFlags = gosnmp.AuthPriv
			g.SecurityParameters = &gosnmp.UsmSecurityParameters{
				UserName: prof.User, AuthenticationProtocol: gosnmp.SHA, AuthenticationPassphrase: prof.AuthKey,
				PrivacyProtocol: gosnmp.AES, PrivacyPassphrase: prof.PrivKey,
			}
		} else {
			g.Version = gosnmp.Version2c
			g.Community = prof.Community
		}
		fail := func(err error) {
			c.failures.Add(1)
			errMu.Lock()
			if len(errs) < 5 {
				errs[err.Error()] = true
			}
			errMu.Unlock()
		}
		if err := g.Connect(); err != nil {
			fail(err)
			return
		}
		defer g.Conn.Close()
		n := 0
		for _, root := range baselineRoots {
			vs, err := g.BulkWalkAll(root)
			if err != nil {
				fail(fmt.Errorf("%s %s: %w", t.name, root, err))
				return
			}
			n += len(vs)
		}
		c.polls.Add(1)
		c.varbinds.Add(int64(n))
	}
	var wg sync.WaitGroup
	start := time.Now()
	em.send(message{Type: "ready", Start: start.UnixNano(), Window: o.interval})
	for range o.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if tokens != nil {
					if _, ok := <-tokens; !ok {
						return
					}
				}
				i := next.Add(1) - 1
				poll(ts[i%int64(len(ts))])
			}
		}()
	}
	metrics := func() map[string]float64 {
		return map[string]float64{
			"polls": float64(c.polls.Load()), "failures": float64(c.failures.Load()),
			"varbinds": float64(c.varbinds.Load()), "retries": float64(c.retries.Load()),
		}
	}
	for k := 0; k < o.windows; k++ {
		time.Sleep(time.Until(start.Add(time.Duration(k+1) * o.interval)))
		em.send(message{Type: "tick", Index: k, Metrics: metrics()})
	}
	stop.Store(true)
	wg.Wait()
	d := &doneReport{}
	for e := range errs {
		d.Errors = append(d.Errors, e)
	}
	fillRuntime(d)
	em.send(message{Type: "done", Metrics: metrics(), Done: d})
	select {}
}
