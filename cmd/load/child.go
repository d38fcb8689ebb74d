package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"sync"
	"syscall"

	"github.com/walrelay/walrelay/config"
	"github.com/walrelay/walrelay/server"
)

// The signals that start and stop the server child's profiles.
const (
	sysProfileStart = syscall.SIGUSR1
	sysProfileStop  = syscall.SIGUSR2
)

// serveChild runs the walrelay server in this process: the tool starts
// itself again with childEnv set (see env.startServer), so the server's CPU
// and memory are a process of their own. It serves the config until
// SIGTERM, printing "addr HOST:PORT" on stdout once it listens.
//
// Profiles cover the measurement window only: SIGUSR1 starts the CPU
// profile (and the mutex profile, and writes the allocation profile so far
// as <memprofile>.start), SIGUSR2 stops them and writes the allocation
// profile. Compare the two allocation profiles with
// go tool pprof -sample_index=alloc_space -diff_base <memprofile>.start <memprofile>.
func serveChild(args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "config file")
	cpuProfile := fs.String("cpuprofile", "", "CPU profile of the measurement window")
	memProfile := fs.String("memprofile", "", "allocation profile at the end of the window")
	mutexProfile := fs.String("mutexprofile", "", "mutex contention profile of the window")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	fmt.Printf("addr %s\n", srv.Addr())
	prof := &profiler{cpu: *cpuProfile, mem: *memProfile, mutex: *mutexProfile, log: log}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, sysProfileStart, sysProfileStop)
	defer signal.Stop(sigs)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-done:
				return
			case s := <-sigs:
				if s == sysProfileStart {
					prof.start()
				} else {
					prof.stop()
				}
			}
		}
	}()
	err = srv.Run(ctx)
	prof.stop()
	return err
}

// profiler writes the child's profiles. Its methods are safe for
// concurrent use; start and stop while running, or stop while stopped, do
// nothing.
type profiler struct {
	cpu, mem, mutex string
	log             *slog.Logger
	mu              sync.Mutex
	cpuFile         *os.File
	running         bool
}

func (p *profiler) start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running {
		return
	}
	p.running = true
	if p.cpu != "" {
		f, err := os.Create(p.cpu)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			p.log.Error("cpu profile", "err", err)
		} else {
			p.cpuFile = f
		}
	}
	if p.mutex != "" {
		runtime.SetMutexProfileFraction(5)
	}
	if p.mem != "" {
		p.write("allocs", p.mem+".start")
	}
}

func (p *profiler) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.running {
		return
	}
	p.running = false
	if p.cpuFile != nil {
		pprof.StopCPUProfile()
		_ = p.cpuFile.Close()
		p.cpuFile = nil
	}
	if p.mem != "" {
		p.write("allocs", p.mem)
	}
	if p.mutex != "" {
		p.write("mutex", p.mutex)
		runtime.SetMutexProfileFraction(0)
	}
}

func (p *profiler) write(name, path string) {
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup(name).WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		p.log.Error("write profile", "profile", name, "err", err)
	}
}
