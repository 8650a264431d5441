//go:build !linux

package testsupport

import "syscall"

// dieWithParent: only Linux has a parent-death signal; elsewhere a killed
// test binary leaves its server to the temporary directory's owner.
func dieWithParent() *syscall.SysProcAttr { return nil }
