//go:build !linux

package client_test

// threadCPU cannot read a thread's processor time here: 0.
func threadCPU() int64 { return 0 }
