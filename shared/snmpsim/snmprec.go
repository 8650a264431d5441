package snmpsim

import (
	"bufio"
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/unet-project/unet/shared/model"
)

// Recording is a recorded walk of a real device, in the .snmprec format of
// the snmpsim project: one "OID|TAG|VALUE" line per instance. Devices whose
// Profile.Recording is set replay it. A Recording is immutable and can back
// any number of devices.
type Recording struct {
	Name string // the file name without extensions

	layout     *layout
	sysName    string
	vendor     model.Vendor
	model      string
	interfaces int
	// Skipped counts lines whose variation module the simulator does not
	// implement and that carry no plain value.
	Skipped int
}

// Len is the number of instances.
func (r *Recording) Len() int { return len(r.layout.entries) }

// recording is the value of one recorded instance.
type recording struct {
	tlv []byte // the value, encoded
	num *numeric
}

// numeric is snmpsim's "numeric" variation module, without its random
// deviation (values stay reproducible): the value is
// initial + scale·f(rate·t) + offset, t being the seconds since the
// simulator started or the device rebooted, whichever is later, kept in
// [min, max]. Parameters missing take snmpsim's defaults (rate 1, scale 1,
// min 0, max 2^32-1 or 2^64-1). Past max, counters and time ticks wrap as
// their types do (snmpsim would stick at max unless wrap=1, which no real
// counter does; wrap=0 asks for that); gauges and integers stick at max
// unless wrap=1.
type numeric struct {
	tag                                  byte
	initial, rate, scale, offset, lo, hi float64
	wrap                                 bool
	fn                                   func(float64) float64
}

// maxRecordedValue bounds one value, to keep every varbind below the
// encoder's 64 KiB limit.
const maxRecordedValue = 60000

// LoadRecording reads a .snmprec file (gzip-compressed if it ends in .gz).
func LoadRecording(path string) (*Recording, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	name := filepath.Base(path)
	if strings.HasSuffix(name, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		defer gz.Close()
		r = gz
		name = strings.TrimSuffix(name, ".gz")
	}
	rec, err := ParseRecording(strings.TrimSuffix(name, ".snmprec"), r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rec, nil
}

// ParseRecording reads .snmprec lines. Tags are the BER type numbers (2
// Integer, 4 OctetString, 5 Null, 6 OID, 64 IpAddress, 65 Counter32, 66
// Gauge32, 67 TimeTicks, 68 Opaque, 70 Counter64, 128-130 exceptions), an
// "x" suffix marks a hexadecimal value ("4x|00a1ff"). Of snmpsim's
// variation modules ("67:numeric|rate=100,initial=5") numeric is
// simulated; others are replayed with their value= parameter when they
// have one and skipped otherwise. sysUpTime.0, when recorded, shows the
// device's live uptime.
func ParseRecording(name string, in io.Reader) (*Recording, error) {
	rec := &Recording{Name: name, vendor: model.VendorGeneric}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), 4*maxRecordedValue)
	seen := map[string]int{}
	var es []entry
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text()) // as snmpsim does
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		oidText, rest, ok1 := strings.Cut(text, "|")
		tagText, value, ok2 := strings.Cut(rest, "|")
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("line %d: want OID|TAG|VALUE", line)
		}
		oid, err := parseOID(oidText)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		val, skip, err := parseRecordedValue(tagText, value)
		if err != nil {
			return nil, fmt.Errorf("line %d (%s): %w", line, oidText, err)
		}
		if skip {
			rec.Skipped++
			continue
		}
		e := entry{oid: oid, objLen: uint8(len(oid) - 1), obj: objRecorded, rec: val}
		if compareOID(oid, sysUpTimeOID) == 0 {
			e.obj = objSysUpTime
		}
		key := string(appendOIDContent(nil, oid))
		rec.note(oid, val)
		if i, dup := seen[key]; dup {
			es[i] = e // the last line wins, as in snmpsim
			continue
		}
		seen[key] = len(es)
		es = append(es, e)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(es) == 0 {
		return nil, fmt.Errorf("recording %q holds no instance", name)
	}
	rec.layout = newLayout(es)
	for i := range es {
		if oid := es[i].oid; len(oid) == len(recIfIndex)+1 && commonPrefix(oid, recIfIndex) == len(recIfIndex) {
			rec.interfaces++
		}
	}
	return rec, nil
}

// Instances that tell what a recorded device is.
var (
	recSysObjectID = mustOID("1.3.6.1.2.1.1.2.0")
	recSysName     = mustOID("1.3.6.1.2.1.1.5.0")
	recIfIndex     = mustOID("1.3.6.1.2.1.2.2.1.1")
	recEntModel    = mustOID("1.3.6.1.2.1.47.1.1.1.1.13")
)

// note picks the device description out of the recorded instances.
func (rec *Recording) note(oid []uint32, v *recording) {
	_, content, _, err := readTLV(v.tlv)
	if err != nil {
		return
	}
	switch {
	case compareOID(oid, recSysName) == 0:
		rec.sysName = string(content)
	case compareOID(oid, recSysObjectID) == 0:
		if o, err := decodeOID(content, nil); err == nil {
			rec.vendor = vendorFromSysObjectID(o)
		}
	case rec.model == "" && len(oid) > len(recEntModel) && commonPrefix(oid, recEntModel) == len(recEntModel) && len(content) > 0:
		rec.model = string(content)
	}
}

// parseRecordedValue encodes one recorded value.
func parseRecordedValue(tagText, value string) (*recording, bool, error) {
	tagText, module, _ := strings.Cut(tagText, ":")
	hexValue := strings.HasSuffix(tagText, "x")
	escaped := strings.HasSuffix(tagText, "e")
	tagText = strings.TrimRight(tagText, "xe")
	n, err := strconv.ParseUint(tagText, 10, 8)
	if err != nil {
		return nil, false, fmt.Errorf("tag %q is not a BER type number", tagText)
	}
	tag := byte(n)
	rec := &recording{}
	if module != "" {
		params := map[string]string{}
		for _, kv := range strings.Split(value, ",") {
			k, v, _ := strings.Cut(kv, "=")
			params[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
		if module == "numeric" && isNumericTag(tag) {
			num, err := parseNumeric(tag, params)
			if err != nil {
				// snmpsim fails such an instance at run time; skip it.
				return nil, true, nil
			}
			rec.num = num
			return rec, false, nil
		}
		v, ok := params["value"]
		if !ok {
			return nil, true, nil
		}
		value = v
	}
	switch {
	case hexValue:
		raw, err := hex.DecodeString(value)
		if err != nil {
			return nil, false, fmt.Errorf("value is not hexadecimal: %w", err)
		}
		value = string(raw)
	case escaped:
		if value, err = unescape(value); err != nil {
			return nil, false, err
		}
	}
	if len(value) > maxRecordedValue {
		return nil, false, fmt.Errorf("value of %d bytes is longer than the %d supported", len(value), maxRecordedValue)
	}
	switch tag {
	case tagInteger:
		v, err := strconv.ParseInt(value, 10, 32)
		if err != nil {
			return nil, false, fmt.Errorf("integer %q: %w", value, err)
		}
		rec.tlv = appendInt(nil, tag, v)
	case tagOctetString, tagOpaque:
		rec.tlv = appendString(nil, tag, value)
	case tagNull, tagNoSuchObject, tagNoSuchInstance, tagEndOfMibView:
		rec.tlv = []byte{tag, 0}
	case tagOID:
		o, err := parseOID(value)
		if err != nil {
			return nil, false, err
		}
		rec.tlv = appendOIDTLV(nil, o)
	case tagIPAddress:
		if hexValue {
			if len(value) != 4 {
				return nil, false, fmt.Errorf("IpAddress of %d bytes", len(value))
			}
			rec.tlv = appendString(nil, tag, value)
			break
		}
		a, err := netip.ParseAddr(value)
		if err != nil || !a.Is4() {
			if len(value) == 4 && !strings.Contains(value, ".") {
				// Four raw octets, as some recorders write them.
				rec.tlv = appendString(nil, tag, value)
				break
			}
			return nil, false, fmt.Errorf("%q is not an IPv4 address", value)
		}
		b := a.As4()
		rec.tlv = appendBytes(nil, tag, b[:])
	case tagCounter32, tagGauge32, tagTimeTicks:
		v, err := strconv.ParseUint(value, 10, 32)
		if err != nil {
			return nil, false, fmt.Errorf("%q is not a 32-bit unsigned number", value)
		}
		rec.tlv = appendUint(nil, tag, v)
	case tagCounter64:
		v, err := strconv.ParseUint(value, 10, 64)
		if err != nil {
			return nil, false, fmt.Errorf("%q is not a 64-bit unsigned number", value)
		}
		rec.tlv = appendUint(nil, tag, v)
	default:
		return nil, false, fmt.Errorf("tag %d is not an SNMP type", tag)
	}
	return rec, false, nil
}

// unescape decodes the "e" form of a value: Python string escapes
// (\\ \' \" \a \b \f \n \r \t \v \xHH), as snmpsim writes them.
func unescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(s) {
			return "", fmt.Errorf("escaped value %q ends with a backslash", s)
		}
		switch s[i] {
		case '\\', '\'', '"':
			b.WriteByte(s[i])
		case 'a':
			b.WriteByte(7)
		case 'b':
			b.WriteByte(8)
		case 'f':
			b.WriteByte(12)
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte(11)
		case 'x':
			if i+2 >= len(s) {
				return "", fmt.Errorf("escaped value %q: \\x needs two hex digits", s)
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return "", fmt.Errorf("escaped value %q: \\x needs two hex digits", s)
			}
			b.WriteByte(byte(v))
			i += 2
		default:
			return "", fmt.Errorf("escaped value %q: unknown escape \\%c", s, s[i])
		}
	}
	return b.String(), nil
}

func isNumericTag(tag byte) bool {
	switch tag {
	case tagInteger, tagCounter32, tagGauge32, tagTimeTicks, tagCounter64:
		return true
	}
	return false
}

// numericFunctions are the functions of time the numeric module may apply.
var numericFunctions = map[string]func(float64) float64{
	"sin": math.Sin, "cos": math.Cos, "tan": math.Tan, "log": math.Log, "exp": math.Exp,
	"sqrt": math.Sqrt, "fabs": math.Abs, "floor": math.Floor, "ceil": math.Ceil,
}

// parseNumeric reads the parameters of the numeric variation module.
func parseNumeric(tag byte, params map[string]string) (*numeric, error) {
	n := &numeric{tag: tag, rate: 1, scale: 1, hi: math.MaxUint32, fn: func(x float64) float64 { return x }}
	switch tag {
	case tagCounter64:
		n.hi, n.wrap = math.MaxUint64, true
	case tagCounter32, tagTimeTicks:
		n.wrap = true
	}
	for k, v := range params {
		if k == "function" {
			name, _, _ := strings.Cut(v, "%")
			f, ok := numericFunctions[name]
			if !ok {
				return nil, fmt.Errorf("numeric function %q is not supported", v)
			}
			n.fn = f
			continue
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("numeric %s=%q is not a number", k, v)
		}
		switch k {
		case "initial":
			n.initial = x
		case "rate":
			n.rate = x
		case "scale":
			n.scale = x
		case "offset":
			n.offset = x
		case "min":
			n.lo = x
		case "max":
			n.hi = x
		case "wrap":
			n.wrap = x != 0
		}
	}
	if _, ok := params["initial"]; !ok {
		n.initial = n.lo
	}
	return n, nil
}

// appendValue appends the recorded value, computing numeric ones.
func (r *recording) appendValue(dst []byte, v *view) []byte {
	n := r.num
	if n == nil {
		return append(dst, r.tlv...)
	}
	t := float64(v.nowMs-max(v.bootMs, v.s.startMs)) / 1000
	x := n.initial + n.scale*n.fn(n.rate*t) + n.offset
	switch {
	case math.IsNaN(x):
		x = n.lo
	case x < n.lo:
		x = n.lo
	case x > n.hi && n.wrap && n.hi > n.lo:
		x = n.lo + math.Mod(x-n.lo, n.hi-n.lo+1)
	case x > n.hi:
		x = n.hi
	}
	switch n.tag {
	case tagInteger:
		return appendInt(dst, n.tag, int64(min(max(x, math.MinInt32), math.MaxInt32)))
	case tagCounter64:
		return appendUint(dst, n.tag, uint64(min(max(x, 0), 1.8e19)))
	}
	return appendUint(dst, n.tag, uint64(min(max(x, 0), math.MaxUint32)))
}
