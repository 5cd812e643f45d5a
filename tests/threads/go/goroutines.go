// Go's runtime under Vireo: goroutines over several OS threads (GOMAXPROCS=2), channels,
// time.Sleep, sync.WaitGroup, a mutex, and a goroutine-heavy computation with runtime.GC()
// under load. The output does not depend on scheduling.
package main

import (
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"
)

func primes(n int) []int {
	var out []int
	for i := 2; len(out) < n; i++ {
		p := true
		for _, q := range out {
			if q*q > i {
				break
			}
			if i%q == 0 {
				p = false
				break
			}
		}
		if p {
			out = append(out, i)
		}
	}
	return out
}

func main() {
	runtime.GOMAXPROCS(2)
	// A pipeline of channels.
	src := make(chan int)
	sq := make(chan int)
	go func() {
		for i := 1; i <= 1000; i++ {
			src <- i
		}
		close(src)
	}()
	go func() {
		for v := range src {
			sq <- v * v
		}
		close(sq)
	}()
	sum := 0
	for v := range sq {
		sum += v
	}
	fmt.Println("pipeline:", sum)

	// WaitGroup and a mutex over many goroutines; time.Sleep in some.
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for g := 0; g < 200; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			if g%50 == 0 {
				time.Sleep(2 * time.Millisecond)
			}
			mu.Lock()
			total += g
			mu.Unlock()
		}(g)
	}
	wg.Wait()
	fmt.Println("waitgroup:", total)

	// Goroutine-heavy work with garbage and forced collections.
	results := make(chan int, 64)
	for w := 0; w < 64; w++ {
		go func(w int) {
			s := 0
			for k := 0; k < 20; k++ {
				p := primes(50 + w%7)
				s += p[len(p)-1]
				buf := make([]byte, 1<<14) // garbage
				s += int(buf[0])
			}
			results <- s
		}(w)
	}
	var all []int
	for i := 0; i < 64; i++ {
		if i%16 == 0 {
			runtime.GC()
		}
		all = append(all, <-results)
	}
	sort.Ints(all)
	fmt.Println("gc under load:", all[0], all[63], len(all))

	// A timer and a select.
	select {
	case <-time.After(5 * time.Millisecond):
		fmt.Println("timer: fired")
	case <-make(chan int):
		fmt.Println("impossible")
	}
}
