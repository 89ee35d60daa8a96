package client_test

import "syscall"

// threadCPU returns the processor time of the calling thread (its user and
// system time), or 0 where it cannot be read. A benchmark that locks its
// goroutine to its thread reports the time per operation that the thread
// used, which other processes on a loaded machine change far less than
// the wall-clock ns/op.
func threadCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_THREAD, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
