//go:build wasip1

package main

import (
	"runtime"
	"unsafe"
)

// buf is the buffer of the last unet_alloc. Keeping it in a global keeps it
// alive (and Go's collector does not move objects); a []uint64 makes it
// 8-byte aligned as the ABI requires.
var buf []uint64

//go:wasmexport unet_abi_version
func abiVersion() int32 { return 1 }

//go:wasmexport unet_manifest
func unetManifest() int64 {
	p := uintptr(unsafe.Pointer(unsafe.StringData(manifest)))
	return int64(p)<<32 | int64(len(manifest))
}

//go:wasmexport unet_alloc
func unetAlloc(size int32) int32 {
	if size < 0 || size > 1<<30 {
		return 0
	}
	words := max((int(size)+7)/8, 1)
	if cap(buf) < words {
		// The host caps memory at a few MiB and Go's runtime does not
		// collect before it fails to grow the heap: free the old buffer
		// first, and leave room so that slightly larger batches reuse it.
		buf = nil
		runtime.GC()
		buf = make([]uint64, words+words/4)
	}
	buf = buf[:words]
	return int32(uintptr(unsafe.Pointer(&buf[0])))
}

//go:wasmexport unet_eval
func unetEval(rule, in, n, out int32) int32 {
	if rule < 0 || int(rule) >= len(approved) {
		return 1 // no such rule
	}
	// Records, strings and verdicts are all in buf: address a is
	// mem[a-base].
	base := uint32(uintptr(unsafe.Pointer(&buf[0])))
	mem := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), len(buf)*8)
	str := func(addr, n uint32) ([]byte, bool) {
		off := uint64(addr) - uint64(base)
		if addr < base || off+uint64(n) > uint64(len(mem)) {
			return nil, false
		}
		return mem[off : off+uint64(n)], true
	}
	rin, rout := int(uint32(in)-base), int(uint32(out)-base)
	if n < 0 || uint32(in) < base || uint32(out) < base || rin+int(n)*stride > len(mem) || rout+int(n) > len(mem) {
		return 2 // not our buffer
	}
	for r := range int(n) {
		mem[rout+r] = verdict(int(rule), mem[rin+r*stride:rin+(r+1)*stride], str)
	}
	return 0
}
