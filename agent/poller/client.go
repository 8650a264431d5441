package poller

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/gosnmp/gosnmp"
)

// client sends the requests of one poll and returns the decoded
// responses. A response's varbinds are valid until the next request.
type client interface {
	get(oids [][]byte) (response, error)
	getBulk(oids [][]byte, nonRepeaters, maxRepetitions int) (response, error)
}

// errTimeout is every attempt of a request going unanswered.
var errTimeout = errors.New("request timeout")

// maxDatagram is the largest UDP payload: a response that fills the
// receive buffer may have been cut.
const maxDatagram = 65535

// v2cBuffers are a poll's reusable buffers, pooled across polls so that
// the agent holds about one set per worker.
type v2cBuffers struct {
	rx  []byte
	tx  []byte
	vbs []varbind
}

// v2cClient speaks SNMPv2c over a connected UDP socket (connected, so
// that an ICMP port unreachable shows as "connection refused" and the
// kernel drops datagrams from other sources).
type v2cClient struct {
	ctx       context.Context
	conn      net.Conn
	community string
	timeout   time.Duration // of the first attempt; doubled at each retry
	retries   int
	onRetry   func()
	nextID    func() int32
	buf       *v2cBuffers
	stop      func() bool // unhooks the cancellation
}

// newV2cClient opens a client for one poll; close releases it.
func (p *Poller) newV2cClient(ctx context.Context, t *Target, s settings, onRetry func()) (*v2cClient, error) {
	conn, err := p.dial(ctx, net.JoinHostPort(t.Address, strconv.Itoa(int(s.port))))
	if err != nil {
		return nil, err
	}
	c := &v2cClient{
		ctx:       ctx,
		conn:      conn,
		community: t.Profile.Community,
		timeout:   s.timeout,
		retries:   s.retries,
		onRetry:   onRetry,
		nextID:    p.requestIDs(),
		buf:       p.buffers.Get().(*v2cBuffers),
	}
	// A cancelled poll must not wait out its read deadline.
	c.stop = context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Unix(1, 0)) })
	return c, nil
}

func (c *v2cClient) close(p *Poller) {
	c.stop()
	_ = c.conn.Close()
	p.buffers.Put(c.buf)
}

func (c *v2cClient) get(oids [][]byte) (response, error) {
	return c.exchange(pduGet, oids, 0, 0)
}

func (c *v2cClient) getBulk(oids [][]byte, nonRepeaters, maxRepetitions int) (response, error) {
	return c.exchange(pduGetBulk, oids, nonRepeaters, maxRepetitions)
}

// exchange sends a request and waits for its response, resending it after
// a timeout (each wait twice the previous one: a congested device gets
// more time). Answers to earlier requests, arriving late, are ignored; an
// answer that does not decode is remembered, and reported if nothing
// better comes.
func (c *v2cClient) exchange(pdu byte, oids [][]byte, a, b int) (response, error) {
	timeout := c.timeout
	var undecodable error
	for attempt := 0; attempt <= c.retries; attempt++ {
		if attempt > 0 {
			c.onRetry()
			timeout *= 2
		}
		if err := c.ctx.Err(); err != nil {
			return response{}, err
		}
		id := c.nextID()
		c.buf.tx = appendRequest(c.buf.tx[:0], pdu, c.community, id, a, b, oids)
		deadline := time.Now().Add(timeout)
		if d, ok := c.ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		if err := c.conn.SetReadDeadline(deadline); err != nil {
			return response{}, err
		}
		if _, err := c.conn.Write(c.buf.tx); err != nil {
			return response{}, err
		}
		for {
			n, err := c.conn.Read(c.buf.rx)
			if err != nil {
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					return response{}, err
				}
				if err := c.ctx.Err(); err != nil {
					return response{}, err
				}
				if d, ok := c.ctx.Deadline(); ok && !time.Now().Before(d) {
					return response{}, context.DeadlineExceeded
				}
				break
			}
			if n >= len(c.buf.rx) {
				undecodable = malformed("larger than %d bytes", len(c.buf.rx))
				continue
			}
			r, err := decodeResponse(c.buf.rx[:n], c.buf.vbs)
			c.buf.vbs = r.vbs[:0]
			if err != nil {
				undecodable = err
				continue
			}
			if r.requestID != id {
				continue
			}
			return r, nil
		}
	}
	if undecodable != nil {
		return response{}, undecodable
	}
	return response{}, errTimeout
}

// defaultRequestIDs returns a generator of request ids for one client: from a
// random start, so that a late answer to another poll's request is not
// taken for this one's.
func defaultRequestIDs() func() int32 {
	id := rand.Uint32()
	return func() int32 {
		id++
		return int32(id & math.MaxInt32)
	}
}

func newBufferPool() *sync.Pool {
	return &sync.Pool{New: func() any { return &v2cBuffers{rx: make([]byte, maxDatagram)} }}
}

// gosnmpClient speaks SNMPv3 through gosnmp, which holds the USM state
// (engine discovery, keys, time window), and converts its answers into
// varbinds. It allocates as gosnmp does; v3 is the minority of devices.
type gosnmpClient struct {
	g     *gosnmp.GoSNMP
	names []string
	// buf.vbs holds the converted varbinds, buf.rx their encoded names
	// and OID values (an arena).
	buf *v2cBuffers
}

func (c *gosnmpClient) get(oids [][]byte) (response, error) {
	pkt, err := c.g.Get(c.text(oids))
	if err != nil {
		return response{}, err
	}
	return c.convert(pkt), nil
}

func (c *gosnmpClient) getBulk(oids [][]byte, nonRepeaters, maxRepetitions int) (response, error) {
	pkt, err := c.g.GetBulk(c.text(oids), uint8(nonRepeaters), uint32(maxRepetitions))
	if err != nil {
		return response{}, err
	}
	return c.convert(pkt), nil
}

func (c *gosnmpClient) text(oids [][]byte) []string {
	c.names = c.names[:0]
	for _, o := range oids {
		s, _ := oidText(o)
		c.names = append(c.names, "."+s)
	}
	return c.names
}

func (c *gosnmpClient) convert(pkt *gosnmp.SnmpPacket) response {
	r := response{errorStatus: int(pkt.Error), errorIndex: int(pkt.ErrorIndex), vbs: c.buf.vbs[:0]}
	// Slices of an arena that grows stay valid: they keep the old array.
	arena := c.buf.rx[:0]
	for i := range pkt.Variables {
		var v varbind
		v, arena = fromPDU(&pkt.Variables[i], arena)
		r.vbs = append(r.vbs, v)
	}
	c.buf.vbs = r.vbs
	return r
}

// fromPDU converts a gosnmp varbind, its encoded OIDs appended to arena.
// A value whose Go type does not match its SNMP type is a bad value, as in
// a response decoded here.
func fromPDU(p *gosnmp.SnmpPDU, arena []byte) (varbind, []byte) {
	v := varbind{typ: byte(p.Type)}
	start := len(arena)
	arena, err := appendOID(arena, p.Name)
	if err != nil {
		return varbind{typ: tagBad}, arena[:start]
	}
	v.name = arena[start:len(arena):len(arena)]
	ok := false
	switch p.Type {
	case gosnmp.Integer:
		var n int
		n, ok = p.Value.(int)
		v.i = int64(n)
	case gosnmp.OctetString, gosnmp.Opaque:
		v.raw, ok = p.Value.([]byte)
	case gosnmp.IPAddress:
		var s string
		s, ok = p.Value.(string)
		v.raw = []byte(s)
	case gosnmp.ObjectIdentifier:
		var s string
		if s, ok = p.Value.(string); ok {
			start := len(arena)
			if arena, err = appendOID(arena, s); err == nil {
				v.raw = arena[start:len(arena):len(arena)]
			} else {
				arena, ok = arena[:start], false
			}
		}
	case gosnmp.Counter32, gosnmp.Gauge32:
		var n uint
		n, ok = p.Value.(uint)
		v.u = uint64(n)
	case gosnmp.TimeTicks, gosnmp.Uinteger32:
		var n uint32
		n, ok = p.Value.(uint32)
		v.u = uint64(n)
	case gosnmp.Counter64:
		v.u, ok = p.Value.(uint64)
	case gosnmp.OpaqueFloat:
		var f float32
		f, ok = p.Value.(float32)
		v.typ, v.f, v.hasF = tagOpaque, float64(f), true
	case gosnmp.OpaqueDouble:
		v.typ = tagOpaque
		v.f, ok = p.Value.(float64)
		v.hasF = ok
	case gosnmp.Null, gosnmp.NoSuchObject, gosnmp.NoSuchInstance, gosnmp.EndOfMibView:
		ok = true
	}
	if !ok {
		v.typ = tagBad
	}
	return v, arena
}

// gosnmpErrorName names an SNMP error-status ("tooBig", "noSuchName"…).
func gosnmpErrorName(status int) string { return gosnmp.SNMPError(status).String() }
