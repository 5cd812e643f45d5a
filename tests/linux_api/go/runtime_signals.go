// runtime_signals.go — Go's runtime leaning on the kernel: asynchronous preemption (with one P,
// a goroutine spinning without function calls gives way only when sysmon's SIGURG, sent with
// tgkill to its thread, makes the handler rewrite the interrupted context to call
// asyncPreempt), signal.Notify for SIGUSR1/SIGHUP, os/exec with pipes and exit statuses, and a
// nil dereference recovered as a panic (SIGSEGV turned into a runtime error). Prints nothing
// that depends on timing, pids or addresses.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	time.AfterFunc(60*time.Second, func() { fmt.Println("timed out"); os.Exit(3) })
	prev := runtime.GOMAXPROCS(1)
	var stop int32
	var spins int64
	done := make(chan bool)
	go func() {
		for atomic.LoadInt32(&stop) == 0 {
			spins++
		}
		done <- true
	}()
	for i := 0; i < 3; i++ {
		time.Sleep(20 * time.Millisecond) // needs the spinner preempted to wake up
	}
	atomic.StoreInt32(&stop, 1)
	<-done
	fmt.Println("preempted spinner, spun:", spins > 0)
	runtime.GOMAXPROCS(prev)

	c := make(chan os.Signal, 2)
	signal.Notify(c, syscall.SIGUSR1, syscall.SIGHUP)
	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	fmt.Println("notified:", <-c)
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	fmt.Println("notified:", <-c)
	signal.Stop(c)

	out, err := exec.Command("/bin/sh", "-c", "echo out; echo err >&2; exit 5").CombinedOutput()
	fmt.Printf("exec: %q %v\n", out, err)
	cmd := exec.Command("/bin/cat")
	cmd.Stdin = strings.NewReader(strings.Repeat("z", 100000))
	b, err := cmd.Output()
	fmt.Println("cat:", len(b), err)
	err = exec.Command("/bin/sh", "-c", "kill -TERM $$").Run()
	fmt.Println("killed child:", err)
	_, err = exec.Command("/nonexistent/program").Output()
	fmt.Println("missing:", err)

	defer func() {
		r := recover()
		fmt.Println("recovered:", r)
	}()
	var p *[4]int
	fmt.Println(p[2])
}
