package bench

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// clock is real time plus an offset the benchmark advances, so provider
// caches age by whole sync periods without the run waiting for them.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// memory is the process's live heap (after a GC) and resident set.
type memory struct {
	HeapBytes uint64
	RSSBytes  uint64
}

func readMemory() memory {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memory{HeapBytes: ms.HeapAlloc, RSSBytes: vmRSS()}
}

// vmRSS reads VmRSS from /proc/self/status (0 where there is none).
func vmRSS() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err == nil {
				return kb * 1024
			}
		}
	}
	return 0
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// deltaMiB is after-before in MiB, negative when memory was returned.
func deltaMiB(after, before uint64) float64 { return mib(after) - mib(before) }
