package poller

import (
	"bytes"
	"fmt"
)

// Column-parallel GetBulk. Exporters walk ifTable and ifXTable whole, one
// table after the other, and read 41 columns to use 10. Here every column
// that is needed is a repeater of the same GetBulk: one request returns
// the next rows of all of them, and each column advances on its own until
// it leaves its subtree. With 48 interfaces and max-repetitions 25 the 12
// columns of a counter poll take two requests.

// Bounds that stop a device from keeping a poll busy forever with an
// endless table; the poll's deadline bounds the time.
const (
	maxRounds        = 5000    // GetBulk requests in one walk
	maxRowsPerColumn = 100_000 // rows read from one column
)

// column is a column being walked.
type column struct {
	def    *columnDef
	cursor []byte // the last OID read, encoded: the next request starts after it
	rows   int
	// expect is the number of rows expected (ifNumber for interface
	// columns), -1 when unknown: it trims the last request.
	expect int
	done   bool
}

func newColumn(def *columnDef, expect int) *column {
	return &column{def: def, cursor: append([]byte(nil), def.enc...), expect: expect}
}

// pollStats counts what a poll sent, received and found wrong.
type pollStats struct {
	getRequests, bulkRequests int
	varbinds                  int
	truncated                 int // responses that held fewer rows than asked, columns unfinished
	nonIncreasing             int // columns that went back or repeated an OID
	tooBig                    int // tooBig errors (repetitions halved)
	badValues                 int // varbinds of the wrong type or index
}

// walker runs the GetBulk rounds of one poll.
type walker struct {
	c      client
	maxRep int
	stats  *pollStats
	oids   [][]byte  // request scratch
	active []*column // scratch
}

// protocolError is a device that answers, but not sensibly.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return e.msg }

// snmpError is an error-status in a response PDU.
type snmpError struct {
	status int
	index  int
}

func (e *snmpError) Error() string {
	name := fmt.Sprintf("%d", e.status)
	if e.status >= 0 && e.status <= 255 {
		name = gosnmpErrorName(e.status)
	}
	return fmt.Sprintf("the device answered with error %s (index %d)", name, e.index)
}

// SNMP error-status values the walk handles.
const (
	statusNoError = 0
	statusTooBig  = 1
)

// walk reads cols until each has left its subtree. nonRep are sent once,
// as the non-repeaters of the first request, and the varbind answering
// nonRep[i] given to scalar(i, …); first runs after the first response
// and may append columns to *cols. Every row goes to row, with its
// ifIndex for interface columns (0 when the index is not a valid one).
func (w *walker) walk(cols *[]*column, nonRep [][]byte, scalar func(i int, v *varbind),
	first func(), row func(c *column, suffix []byte, index int, v *varbind)) error {
	pendingNonRep := nonRep
	for round := 0; ; round++ {
		w.active = w.active[:0]
		remaining, unknown := 0, false
		for _, c := range *cols {
			if c.done || len(w.active)+len(pendingNonRep) >= maxOIDsPerRequest {
				continue
			}
			w.active = append(w.active, c)
			if c.expect < 0 {
				unknown = true
			} else {
				remaining = max(remaining, c.expect-c.rows)
			}
		}
		if len(w.active) == 0 && len(pendingNonRep) == 0 {
			return nil
		}
		if round >= maxRounds {
			return &protocolError{fmt.Sprintf("the walk did not end after %d requests", maxRounds)}
		}
		reps := w.maxRep
		if !unknown {
			// One more row than expected shows the column's end, or that
			// ifNumber was wrong.
			reps = min(reps, max(1, remaining+1))
		}
		w.oids = append(w.oids[:0], pendingNonRep...)
		for _, c := range w.active {
			w.oids = append(w.oids, c.cursor)
		}
		w.stats.bulkRequests++
		resp, err := w.c.getBulk(w.oids, len(pendingNonRep), reps)
		if err != nil {
			return err
		}
		if resp.errorStatus != statusNoError {
			if resp.errorStatus == statusTooBig && w.maxRep > 1 {
				w.stats.tooBig++
				w.maxRep /= 2
				continue
			}
			return &snmpError{resp.errorStatus, resp.errorIndex}
		}
		vars := resp.vbs
		w.stats.varbinds += len(vars)
		progressed := false
		if len(pendingNonRep) > 0 {
			n := min(len(pendingNonRep), len(vars))
			for i := 0; i < n; i++ {
				scalar(i, &vars[i])
			}
			vars = vars[n:]
			pendingNonRep = nil
			progressed = true
			if first != nil {
				first()
			}
		}
		k := len(w.active)
		if k == 0 {
			continue
		}
		for i := range vars {
			c := w.active[i%k]
			if c.done {
				continue
			}
			v := &vars[i]
			progressed = true
			enc := c.def.enc
			if len(v.name) <= len(enc) || !bytes.HasPrefix(v.name, enc) ||
				v.typ == tagEndOfMibView || v.typ == tagNoSuchObject || v.typ == tagNoSuchInstance {
				c.done = true
				continue
			}
			suffix := v.name[len(enc):]
			// The agent must go forward: one that goes back or repeats
			// itself would make the walk loop forever.
			idx := 0
			if c.def.table == tableIf {
				idx, _ = berIndex(suffix)
			}
			if c.rows > 0 && compareOIDs(v.name, c.cursor) <= 0 {
				c.done = true
				w.stats.nonIncreasing++
				continue
			}
			c.cursor = append(c.cursor[:0], v.name...)
			c.rows++
			row(c, suffix, idx, v)
			if c.rows >= maxRowsPerColumn {
				c.done = true
			}
		}
		if len(vars) < k*reps {
			for _, c := range w.active {
				if !c.done {
					w.stats.truncated++
					break
				}
			}
		}
		if !progressed {
			return &protocolError{"the device answered a GetBulk with no varbind"}
		}
	}
}
