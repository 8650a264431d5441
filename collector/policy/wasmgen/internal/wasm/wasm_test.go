package wasm

import (
	"bytes"
	"context"
	"math"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

func TestLEB128(t *testing.T) {
	u := []struct {
		v    uint64
		want []byte
	}{
		{0, []byte{0}},
		{127, []byte{0x7f}},
		{128, []byte{0x80, 0x01}},
		{624485, []byte{0xe5, 0x8e, 0x26}},
		{math.MaxUint32, []byte{0xff, 0xff, 0xff, 0xff, 0x0f}},
	}
	for _, tc := range u {
		if got := U64(tc.v); !bytes.Equal(got, tc.want) {
			t.Errorf("U64(%d) = %x, want %x", tc.v, got, tc.want)
		}
	}
	s := []struct {
		v    int64
		want []byte
	}{
		{0, []byte{0}},
		{63, []byte{0x3f}},
		{64, []byte{0xc0, 0x00}},
		{-1, []byte{0x7f}},
		{-64, []byte{0x40}},
		{-65, []byte{0xbf, 0x7f}},
		{-123456, []byte{0xc0, 0xbb, 0x78}},
		{math.MinInt32, []byte{0x80, 0x80, 0x80, 0x80, 0x78}},
	}
	for _, tc := range s {
		if got := S64(tc.v); !bytes.Equal(got, tc.want) {
			t.Errorf("S64(%d) = %x, want %x", tc.v, got, tc.want)
		}
	}
}

// instantiate compiles and instantiates b with a host module "env" whose
// function "twice" doubles its argument.
func instantiate(t *testing.T, b []byte) api.Module {
	t.Helper()
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	t.Cleanup(func() { r.Close(ctx) })
	_, err := r.NewHostModuleBuilder("env").
		NewFunctionBuilder().WithFunc(func(x int32) int32 { return 2 * x }).Export("twice").
		Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, err := r.Instantiate(ctx, b)
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	return m
}

func call(t *testing.T, m api.Module, name string, args ...uint64) uint64 {
	t.Helper()
	res, err := m.ExportedFunction(name).Call(context.Background(), args...)
	if err != nil {
		t.Fatalf("%s%v: %v", name, args, err)
	}
	return res[0]
}

func TestModule(t *testing.T) {
	m := NewModule()
	i32i32 := FuncType{Params: []ValType{I32}, Results: []ValType{I32}}
	twice := m.ImportFunc("env", "twice", i32i32)
	m.Memory(1, -1)
	m.Export("memory", ExportMemory, 0)
	m.Data(16, []byte("hello"))

	// sum(n) = 0+1+…+n-1, with a loop and a block.
	sum := m.DeclareFunc(i32i32)
	var c Code
	done := c.Block(Void)
	c.LocalGet(0).Op(I32Eqz).BrIf(done)
	top := c.Loop(Void)
	c.LocalGet(0).I32Const(1).Op(I32Sub).LocalTee(0)
	c.LocalGet(1).Op(I32Add).LocalSet(1)
	c.LocalGet(0).BrIf(top)
	c.End()
	c.End()
	c.LocalGet(1)
	m.SetBody(sum, []ValType{I32}, &c)
	m.Export("sum", ExportFunc, sum)

	// pick(i) = [10, 20, 30][i], 99 out of range: br_table over nested blocks.
	pick := m.DeclareFunc(i32i32)
	var p Code
	out := p.Block(BlockI32)
	def := p.Block(Void)
	b2 := p.Block(Void)
	b1 := p.Block(Void)
	b0 := p.Block(Void)
	p.LocalGet(0).BrTable([]Label{b0, b1, b2}, def)
	p.End().I32Const(10).Br(out)
	p.End().I32Const(20).Br(out)
	p.End().I32Const(30).Br(out)
	p.End().I32Const(99)
	p.End()
	m.SetBody(pick, nil, &p)
	m.Export("pick", ExportFunc, pick)

	// quad(x) = twice(twice(x)), through the import; byte(i) loads data.
	quad := m.DeclareFunc(i32i32)
	var q Code
	q.LocalGet(0).Call(twice).Call(twice)
	m.SetBody(quad, nil, &q)
	m.Export("quad", ExportFunc, quad)
	byteAt := m.DeclareFunc(i32i32)
	var bc Code
	bc.LocalGet(0).I32Load8U(16)
	m.SetBody(byteAt, nil, &bc)
	m.Export("byte", ExportFunc, byteAt)

	// cmp(x) = x < 1.5 as f64 compare, with if/else.
	cmp := m.DeclareFunc(FuncType{Params: []ValType{F64}, Results: []ValType{I32}})
	var fc Code
	fc.LocalGet(0).F64Const(1.5).Op(F64Lt)
	fc.If(BlockI32)
	fc.I32Const(7)
	fc.Else()
	fc.I32Const(-300)
	fc.End()
	m.SetBody(cmp, nil, &fc)
	m.Export("cmp", ExportFunc, cmp)

	// via(i) = table[i](5): entry 0 is quad, entry 1 is sum.
	m.Table(2)
	m.Elem(0, []uint32{quad, sum})
	via := m.DeclareFunc(i32i32)
	var vc Code
	vc.I32Const(5).LocalGet(0).CallIndirect(m.Type(i32i32))
	m.SetBody(via, nil, &vc)
	m.Export("via", ExportFunc, via)

	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	mod := instantiate(t, b)
	tests := []struct {
		fn   string
		arg  uint64
		want int32
	}{
		{"sum", 0, 0}, {"sum", 5, 10}, {"sum", 1000, 499500},
		{"pick", 0, 10}, {"pick", 1, 20}, {"pick", 2, 30}, {"pick", 3, 99}, {"pick", 1 << 31, 99},
		{"quad", 5, 20},
		{"byte", 0, 'h'}, {"byte", 4, 'o'},
		{"via", 0, 20}, {"via", 1, 10},
		{"cmp", math.Float64bits(1.0), 7}, {"cmp", math.Float64bits(2.0), -300},
	}
	for _, tc := range tests {
		if got := int32(call(t, mod, tc.fn, tc.arg)); got != tc.want {
			t.Errorf("%s(%d) = %d, want %d", tc.fn, tc.arg, got, tc.want)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name  string
		build func(m *Module)
	}{
		{"missing body", func(m *Module) { m.DeclareFunc(FuncType{}) }},
		{"import after func", func(m *Module) {
			f := m.DeclareFunc(FuncType{})
			m.SetBody(f, nil, &Code{})
			m.ImportFunc("a", "b", FuncType{})
		}},
		{"unclosed block", func(m *Module) {
			f := m.DeclareFunc(FuncType{})
			var c Code
			c.Block(Void)
			m.SetBody(f, nil, &c)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewModule()
			tc.build(m)
			if _, err := m.Encode(); err == nil {
				t.Fatal("Encode succeeded, want an error")
			}
		})
	}
}
