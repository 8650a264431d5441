package snmpsim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Simulator serves simulated devices. Create it with New, then Start.
type Simulator struct {
	cfg     Config
	log     *slog.Logger
	clock   func() time.Time
	startMs int64
	baseOrd uint64
	devs    []Device

	layoutMu sync.Mutex
	layouts  map[layoutKey]*layout

	stats    counters
	usmStats [usmStatsCount]atomic.Uint32
	reqLog   *requestLog

	conns     []*net.UDPConn
	port      int
	wg        sync.WaitGroup
	started   atomic.Bool
	closing   atomic.Bool
	closeOnce sync.Once
	closeErr  error
	done      chan struct{}
}

// New prepares a simulator: it checks the configuration, derives every
// device's profile and hashes the SNMPv3 pass phrases. Nothing listens
// before Start.
func New(cfg Config, logger *slog.Logger) (*Simulator, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Simulator{
		cfg:     cfg,
		log:     logger,
		clock:   cfg.Clock,
		baseOrd: ordinal(cfg.Base),
		devs:    make([]Device, cfg.Devices),
		layouts: map[layoutKey]*layout{},
		reqLog:  newRequestLog(cfg.RequestLog),
		done:    make(chan struct{}),
	}
	s.startMs = s.clock().UnixMilli()
	// Devices with equal profiles share one prepared profile, and equal
	// SNMPv3 users one hashed key (the expansion costs a few ms each).
	profiles := map[Profile]*devProfile{}
	users := map[V3User]*usmUser{}
	prepare := func(p Profile) (*devProfile, error) {
		if err := p.normalize(); err != nil {
			return nil, err
		}
		if dp, ok := profiles[p]; ok {
			return dp, nil
		}
		dp := &devProfile{Profile: p, omega: omegaFor(p.Traffic.Period)}
		if p.Vendor != "" {
			dp.vendor, _ = vendorByName(p.Vendor)
		}
		if p.V3 != nil {
			u, ok := users[*p.V3]
			if !ok {
				u = newUSMUser(p.V3)
				users[*p.V3] = u
			}
			dp.usm = u
		}
		profiles[p] = dp
		return dp, nil
	}
	base, err := prepare(cfg.Profile)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	for i := range s.devs {
		d := &s.devs[i]
		d.s, d.index, d.p = s, i, base
		if cfg.Customize != nil {
			p := cfg.Profile
			cfg.Customize(i, &p)
			if d.p, err = prepare(p); err != nil {
				return nil, fmt.Errorf("profile of device %d (%s): %w", i, s.addrOf(i), err)
			}
		}
	}
	return s, nil
}

// Start binds the sockets and serves until Close, or until ctx ends.
func (s *Simulator) Start(ctx context.Context) error {
	if s.closing.Load() {
		return errors.New("snmpsim: closed")
	}
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("snmpsim: already started")
	}
	if err := s.listen(ctx); err != nil {
		for _, c := range s.conns {
			c.Close()
		}
		s.conns = nil
		close(s.done)
		return err
	}
	for i, c := range s.conns {
		w := newWorker(s, i)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(w, c)
		}()
	}
	go func() {
		select {
		case <-ctx.Done():
			s.Close()
		case <-s.done:
		}
	}()
	last := addrAt(s.cfg.Base, len(s.devs)-1)
	s.log.Info("SNMP simulator serving",
		"devices", len(s.devs), "first", s.cfg.Base, "last", last,
		"port", s.port, "sockets", len(s.conns))
	return nil
}

// Close stops serving and releases the sockets; it returns once every
// serving goroutine has stopped, whoever calls it. Responses still held
// back by a delay are not sent.
func (s *Simulator) Close() error {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		if !s.started.Load() {
			return
		}
		var errs []error
		for _, c := range s.conns {
			if err := c.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		s.wg.Wait()
		select {
		case <-s.done:
		default:
			close(s.done)
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// Port is the UDP port the devices answer on (after Start).
func (s *Simulator) Port() int { return s.port }

// Sockets is the number of sockets serving the devices (after Start).
func (s *Simulator) Sockets() int { return len(s.conns) }

// Len is the number of devices.
func (s *Simulator) Len() int { return len(s.devs) }

// Devices describes every device, in address order.
func (s *Simulator) Devices() []DeviceInfo {
	out := make([]DeviceInfo, len(s.devs))
	for i := range s.devs {
		out[i] = s.devs[i].Info()
	}
	return out
}

// Device returns the device at addr, nil if none.
func (s *Simulator) Device(addr netip.Addr) *Device { return s.deviceFor(addr) }

// DeviceAt returns device i (from 0, in address order), nil if out of range.
func (s *Simulator) DeviceAt(i int) *Device {
	if i < 0 || i >= len(s.devs) {
		return nil
	}
	return &s.devs[i]
}

// Stats returns the simulator-wide counters.
func (s *Simulator) Stats() Stats { return s.stats.snapshot() }

// Recent returns the most recent requests (Config.RequestLog of them),
// oldest first.
func (s *Simulator) Recent() []Request { return s.reqLog.recent() }

// addrOf is the address of device i.
func (s *Simulator) addrOf(i int) netip.Addr { return addrAt(s.cfg.Base, i) }

// deviceFor finds the device at addr.
func (s *Simulator) deviceFor(addr netip.Addr) *Device {
	if !addr.Is4() {
		return nil
	}
	a := addr.As4()
	o, ok := ordinal4(binary.BigEndian.Uint32(a[:]))
	if !ok || o < s.baseOrd || o-s.baseOrd >= uint64(len(s.devs)) {
		return nil
	}
	return &s.devs[o-s.baseOrd]
}

// layoutFor returns the shared layout for key, building it once.
func (s *Simulator) layoutFor(key layoutKey) *layout {
	s.layoutMu.Lock()
	defer s.layoutMu.Unlock()
	l, ok := s.layouts[key]
	if !ok {
		l = buildLayout(key)
		s.layouts[key] = l
	}
	return l
}

// listen binds cfg.Sockets SO_REUSEPORT sockets to 0.0.0.0:port.
func (s *Simulator) listen(ctx context.Context) error {
	port := s.cfg.Port
	if port == 0 {
		// Ask the kernel for a port nobody uses, with a plain socket: an
		// ephemeral bind with SO_REUSEPORT could land on a port that
		// another simulator of this user already serves.
		probe, err := net.ListenPacket("udp4", "0.0.0.0:0")
		if err != nil {
			return fmt.Errorf("finding a free UDP port: %w", err)
		}
		port = probe.LocalAddr().(*net.UDPAddr).Port
		probe.Close()
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); serr != nil {
				return
			}
			// SO_RCVBUFFORCE goes past net.core.rmem_max when allowed
			// (CAP_NET_ADMIN); SO_RCVBUF is capped by it.
			if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, s.cfg.ReceiveBuffer) != nil {
				if err := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, s.cfg.ReceiveBuffer); err != nil {
					s.log.Warn("cannot set the socket receive buffer", "bytes", s.cfg.ReceiveBuffer, "err", err)
				}
			}
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	for i := 0; i < s.cfg.Sockets; i++ {
		pc, err := lc.ListenPacket(ctx, "udp4", fmt.Sprintf("0.0.0.0:%d", port))
		if err != nil {
			return fmt.Errorf("listening on UDP port %d (socket %d of %d): %w", port, i+1, s.cfg.Sockets, err)
		}
		s.conns = append(s.conns, pc.(*net.UDPConn))
	}
	s.port = port
	return nil
}

// serve reads requests from one socket until it is closed.
func (s *Simulator) serve(w *worker, c *net.UDPConn) {
	rx := make([]byte, 65536)
	oob := make([]byte, 128)
	txOOB := make([]byte, unix.CmsgSpace(unix.SizeofInet4Pktinfo))
	for {
		n, oobn, _, src, err := c.ReadMsgUDPAddrPort(rx, oob)
		if err != nil {
			if s.closing.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("reading a request", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		dst, ok := parsePktinfo(oob[:oobn])
		if !ok {
			s.stats.unknown.Add(1)
			continue
		}
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		d, resp, delay := w.handle(rx[:n], src, dst)
		if resp == nil {
			continue
		}
		if delay > 0 {
			held := append([]byte(nil), resp...)
			time.AfterFunc(delay, func() {
				if !s.closing.Load() {
					s.send(c, make([]byte, len(txOOB)), d, held, dst, src)
				}
			})
			continue
		}
		s.send(c, txOOB, d, resp, dst, src)
	}
}

// send sends resp to dst from the device address from, whatever the
// socket is bound to: the source address goes in an IP_PKTINFO control
// message.
func (s *Simulator) send(c *net.UDPConn, oob []byte, d *Device, resp []byte, from netip.Addr, to netip.AddrPort) {
	oob = buildPktinfo(oob, from)
	if _, _, err := c.WriteMsgUDPAddrPort(resp, oob, to); err != nil {
		if !s.closing.Load() {
			s.log.Debug("sending a response", "device", from, "to", to, "err", err)
		}
		return
	}
	d.responses.Add(1)
	s.stats.responses.Add(1)
}

// parsePktinfo finds the destination address in the control messages of
// a received datagram.
func parsePktinfo(oob []byte) (netip.Addr, bool) {
	for len(oob) >= unix.SizeofCmsghdr {
		var l int
		if unix.SizeofCmsghdr == 16 {
			l = int(binary.NativeEndian.Uint64(oob[0:8]))
		} else {
			l = int(binary.NativeEndian.Uint32(oob[0:4]))
		}
		hl := unix.SizeofCmsghdr
		level := int32(binary.NativeEndian.Uint32(oob[hl-8:]))
		typ := int32(binary.NativeEndian.Uint32(oob[hl-4:]))
		if l < hl || l > len(oob) {
			return netip.Addr{}, false
		}
		if level == unix.IPPROTO_IP && typ == unix.IP_PKTINFO && l >= hl+unix.SizeofInet4Pktinfo {
			// struct in_pktinfo { int ipi_ifindex; struct in_addr ipi_spec_dst, ipi_addr; }
			var a [4]byte
			copy(a[:], oob[hl+8:hl+12])
			return netip.AddrFrom4(a), true
		}
		next := unix.CmsgSpace(l - hl)
		if next > len(oob) {
			break
		}
		oob = oob[next:]
	}
	return netip.Addr{}, false
}

// buildPktinfo writes an IP_PKTINFO control message asking the kernel to
// send from addr (ipi_spec_dst) into oob, which is CmsgSpace(in_pktinfo) long.
func buildPktinfo(oob []byte, addr netip.Addr) []byte {
	clear(oob)
	hl := unix.SizeofCmsghdr
	l := unix.CmsgLen(unix.SizeofInet4Pktinfo)
	if hl == 16 {
		binary.NativeEndian.PutUint64(oob[0:8], uint64(l))
	} else {
		binary.NativeEndian.PutUint32(oob[0:4], uint32(l))
	}
	binary.NativeEndian.PutUint32(oob[hl-8:], uint32(unix.IPPROTO_IP))
	binary.NativeEndian.PutUint32(oob[hl-4:], uint32(unix.IP_PKTINFO))
	a := addr.As4()
	copy(oob[hl+4:hl+8], a[:])
	return oob
}
