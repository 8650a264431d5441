//go:build !linux

package sandbox

// threadClock is not available: calls get a wall-clock deadline.
func threadClock() (func() (int64, bool), bool) { return nil, false }
