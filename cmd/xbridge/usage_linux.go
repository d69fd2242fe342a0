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

// serverProcs is the CPU time, in USER_HZ ticks, each process of the
// PostgreSQL server on this machine had used by some moment, by pid and
// start time (a pid may be used again).
type serverProcs map[[2]int64]int64

// postgresCPU reads the server's processes; nil when there are none to
// read (the server is elsewhere, or /proc is closed to this user).
func postgresCPU() serverProcs {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	procs := serverProcs{}
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		// pid (comm) state ppid … utime stime … starttime: comm may hold
		// spaces, so the fields are counted from its closing parenthesis.
		open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if open < 0 || end < open {
			continue
		}
		if comm := string(b[open+1 : end]); comm != "postgres" && comm != "postmaster" {
			continue
		}
		f := bytes.Fields(b[end+1:])
		if len(f) < 20 {
			continue
		}
		pid, err0 := strconv.ParseInt(string(bytes.TrimSpace(b[:open])), 10, 64)
		utime, err1 := strconv.ParseInt(string(f[11]), 10, 64)
		stime, err2 := strconv.ParseInt(string(f[12]), 10, 64)
		start, err3 := strconv.ParseInt(string(f[19]), 10, 64)
		if err0 != nil || err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		procs[[2]int64{pid, start}] = utime + stime
	}
	if len(procs) == 0 {
		return nil
	}
	return procs
}

// since is the CPU time the server's processes used from before to p:
// what each process still running used since before (all of it for one
// started since). What a process that ended in between used after before
// is not known, and not counted.
func (p serverProcs) since(before serverProcs) time.Duration {
	var ticks int64
	for k, t := range p {
		ticks += t - before[k]
	}
	return time.Duration(ticks) * time.Second / userHZ
}
