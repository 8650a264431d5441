package policy

import (
	"encoding/binary"
	"encoding/json"
)

// hostileModule assembles, byte by byte, a module that follows the ABI
// but whose rules misbehave: rule "hostile-loop" never returns, rule
// "hostile-grow" grows memory until it traps, and rule "hostile-ok" says
// compliant. (The sandbox's own tests have the full assembler; this is the
// little the engine's tests need to show that a hostile guest costs only
// its own verdicts.)
func hostileModule() []byte {
	man, err := json.Marshal(map[string]any{
		"abi":    1,
		"fields": []map[string]string{{"path": "node.name", "type": "string"}},
		"rules": []map[string]any{
			{"name": "hostile-loop", "action": "apply", "template": "loop.j2"},
			{"name": "hostile-grow", "action": "apply", "template": "grow.j2"},
			{"name": "hostile-ok", "action": "apply", "template": "ok.j2"},
		},
	})
	if err != nil {
		panic(err)
	}
	const (
		i32, i64     = 0x7f, 0x7e
		manifestAddr = 1024
		allocAddr    = 8192
		pages        = 2
	)
	out := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}
	section := func(id byte, body []byte) {
		out = append(out, id)
		out = binary.AppendUvarint(out, uint64(len(body)))
		out = append(out, body...)
	}
	vec := func(n int, items []byte) []byte { return append(binary.AppendUvarint(nil, uint64(n)), items...) }
	name := func(s string) []byte { return vec(len(s), []byte(s)) }
	sleb := func(op byte, v int64) []byte {
		b := []byte{op}
		for {
			c := byte(v & 0x7f)
			v >>= 7
			if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
				return append(b, c)
			}
			b = append(b, c|0x80)
		}
	}
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	type fn struct {
		export          string
		params, results []byte
		body            []byte
	}
	localGet := func(i byte) []byte { return []byte{0x20, i} }
	i32c := func(v int32) []byte { return sleb(0x41, int64(v)) }
	// unet_eval(rule, in, n, out): rule 0 loops, rule 1 grows memory until
	// memory.grow fails and then traps, the others fill out with 1.
	loop := []byte{0x03, 0x40, 0x0c, 0x00, 0x0b}
	grow := cat([]byte{0x03, 0x40}, i32c(1), []byte{0x40, 0x00}, i32c(-1),
		[]byte{0x46, 0x04, 0x40, 0x00, 0x0b, 0x0c, 0x00, 0x0b})
	eval := cat(
		localGet(0), i32c(0), []byte{0x46, 0x04, 0x40}, loop, []byte{0x0b},
		localGet(0), i32c(1), []byte{0x46, 0x04, 0x40}, grow, []byte{0x0b},
		localGet(3), i32c(1), localGet(2), []byte{0xfc, 0x0b, 0x00}, i32c(0))
	fns := []fn{
		{"unet_abi_version", nil, []byte{i32}, i32c(1)},
		{"unet_manifest", nil, []byte{i64}, sleb(0x42, int64(manifestAddr)<<32|int64(len(man)))},
		{"unet_alloc", []byte{i32}, []byte{i32}, i32c(allocAddr)},
		{"unet_eval", []byte{i32, i32, i32, i32}, []byte{i32}, eval},
	}
	var types, funcs, exports, code []byte
	for i, f := range fns {
		types = append(types, 0x60)
		types = append(types, vec(len(f.params), f.params)...)
		types = append(types, vec(len(f.results), f.results)...)
		funcs = binary.AppendUvarint(funcs, uint64(i))
		exports = append(exports, name(f.export)...)
		exports = append(exports, 0x00, byte(i))
		body := append([]byte{0x00}, f.body...) // no locals
		body = append(body, 0x0b)
		code = append(code, binary.AppendUvarint(nil, uint64(len(body)))...)
		code = append(code, body...)
	}
	exports = append(exports, name("memory")...)
	exports = append(exports, 0x02, 0x00)
	section(1, vec(len(fns), types))
	section(3, vec(len(fns), funcs))
	section(5, []byte{0x01, 0x00, pages})
	section(7, vec(len(fns)+1, exports))
	section(10, vec(len(fns), code))
	data := cat([]byte{0x00}, i32c(manifestAddr), []byte{0x0b}, binary.AppendUvarint(nil, uint64(len(man))), man)
	section(11, vec(1, data))
	return out
}
