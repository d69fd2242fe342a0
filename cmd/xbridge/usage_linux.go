//go:build linux

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// userHZ is the unit of the CPU times in /proc/<pid>/stat: USER_HZ, 100 on
// every Linux the bridge runs on.
const userHZ = 100

// postgresCPU is the CPU time the PostgreSQL server's processes on this
// machine used so far, user and system; false when there are none to read
// (the server is elsewhere, or /proc is closed to this user). Processes
// that ended in between are not counted: the bench's connections stay
// open through a phase.
func postgresCPU() (time.Duration, bool) {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var ticks int64
	found := false
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		// pid (comm) state ppid … utime stime: comm may hold spaces, so
		// the fields are counted from its closing parenthesis.
		open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if open < 0 || end < open {
			continue
		}
		if comm := string(b[open+1 : end]); comm != "postgres" && comm != "postmaster" {
			continue
		}
		f := bytes.Fields(b[end+1:])
		if len(f) < 13 {
			continue
		}
		utime, err1 := strconv.ParseInt(string(f[11]), 10, 64)
		stime, err2 := strconv.ParseInt(string(f[12]), 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		ticks += utime + stime
		found = true
	}
	return time.Duration(ticks) * time.Second / userHZ, found
}
