// A Go HTTP server and client in one static program (CGO_ENABLED=0): the server listens on an
// ephemeral loopback port, twenty goroutines fetch a page at once, and one POST sends 240 KiB that
// the server hashes. Go's runtime brings its own threads, netpoller (epoll, eventfd, non-blocking
// sockets) and signals, so this exercises them all. The output has no port and no timing.
package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"
)

func main() {
	time.AfterFunc(90*time.Second, func() { fmt.Println("timed out"); os.Exit(2) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/page/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "page %s", r.URL.Path[len("/page/"):])
	})
	mux.HandleFunc("/hash", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%d bytes, sha256 %x", len(body), sha256.Sum256(body))
	})
	go http.Serve(ln, mux)
	base := "http://" + ln.Addr().String()

	var wg sync.WaitGroup
	var mu sync.Mutex
	var pages []string
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			resp, err := http.Get(fmt.Sprintf("%s/page/%02d", base, i))
			if err != nil {
				mu.Lock()
				pages = append(pages, "error: "+err.Error())
				mu.Unlock()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			mu.Lock()
			pages = append(pages, fmt.Sprintf("%d %s", resp.StatusCode, b))
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	sort.Strings(pages)
	for _, p := range pages {
		fmt.Println(p)
	}

	big := bytes.Repeat([]byte("vireo loopback "), 1<<14)
	resp, err := http.Post(base+"/hash", "application/octet-stream", bytes.NewReader(big))
	if err != nil {
		fmt.Println("post:", err)
		os.Exit(1)
	}
	b, _ := io.ReadAll(resp.Body)
	fmt.Printf("POST: %d %s (expected sha256 %x)\n", resp.StatusCode, b, sha256.Sum256(big))
}
