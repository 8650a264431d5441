package bundle

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/unet-project/unet/shared/model"
)

// DecodeCSV reads a CSV file of objects (see the package comment for the
// columns). Without a `kind` column every row is of defaultKind, which must
// then be given; with one, defaultKind stands in for blank kind cells.
//
// The []RowError lists every problem of every row, in line order; the
// bundle holds the rows that have none, each with its line in Sources. The
// error is for a file that cannot be read: broken quoting, no header.
func DecodeCSV(r io.Reader, defaultKind model.ObjectKind) (*Bundle, []RowError, error) {
	if defaultKind != "" {
		k, err := model.ParseObjectKind(string(defaultKind))
		if err != nil {
			return nil, nil, fmt.Errorf("default kind: %w", err)
		}
		defaultKind = k
	}
	cr := csv.NewReader(skipBOM(r))
	cr.Comment = '#'
	cr.FieldsPerRecord = -1 // short rows are blank-padded, long ones checked per row
	cr.ReuseRecord = true   // cells are copied into a row, the slice is not kept
	h, err := readHeader(cr)
	if err != nil {
		return nil, nil, err
	}
	if !h.hasKind && defaultKind == "" {
		return nil, nil, fmt.Errorf("line %d: the file has no %q column and no default kind was given: say what its rows are", h.line, colKind)
	}
	c := newCollector(true)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, readError(err)
		}
		if isBlankRecord(rec) {
			continue
		}
		line, _ := cr.FieldPos(0)
		c.addRow(h, rec, Position{Line: line}, defaultKind)
	}
	return &c.b, c.errs, nil
}

// skipBOM drops the UTF-8 byte-order mark spreadsheets put in front of a
// file. It must go before the CSV reader sees it: after it, a first line
// "# comment" would not start with '#'.
func skipBOM(r io.Reader) io.Reader {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\ufeff" {
		_, _ = br.Discard(3)
	}
	return br
}

// readError words an error of the CSV reader; a csv.ParseError already
// names the line and column.
func readError(err error) error {
	return fmt.Errorf("unreadable CSV: %w", err)
}

// header maps the cells of a row to columns.
type header struct {
	cols    []column // by cell index; noColumn under a blank header name
	present []column // the named columns, once each
	hasKind bool
	line    int
}

// readHeader reads the first non-blank record as the header and refuses
// unknown or repeated column names, naming them all at once.
func readHeader(cr *csv.Reader) (*header, error) {
	var rec []string
	for {
		var err error
		rec, err = cr.Read()
		if err == io.EOF {
			return nil, errors.New("empty file: expected a header line naming the columns")
		}
		if err != nil {
			return nil, readError(err)
		}
		if !isBlankRecord(rec) {
			break
		}
	}
	h := &header{cols: make([]column, len(rec))}
	h.line, _ = cr.FieldPos(0)
	var unknown []string
	seen := map[column]int{}
	for i, name := range rec {
		if strings.TrimSpace(name) == "" {
			h.cols[i] = noColumn
			continue
		}
		col, ok := lookupColumn(name)
		if !ok {
			unknown = append(unknown, strconv.Quote(name))
			continue
		}
		if first, dup := seen[col]; dup {
			return nil, fmt.Errorf("line %d: column %q appears twice (cells %d and %d)", h.line, col, first+1, i+1)
		}
		seen[col] = i
		h.cols[i] = col
		h.present = append(h.present, col)
		h.hasKind = h.hasKind || col == colKind
	}
	if len(unknown) > 0 {
		what := "column"
		if len(unknown) > 1 {
			what = "columns"
		}
		return nil, fmt.Errorf("line %d: unknown %s %s (known columns: %s)", h.line, what,
			strings.Join(unknown, ", "), strings.Join(columnNames(), ", "))
	}
	return h, nil
}

// isBlank reports whether a cell is empty to the eye.
func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

// isBlankRecord reports whether every cell of a record is blank: an empty
// line, or the ",,,," rows spreadsheets leave behind.
func isBlankRecord(rec []string) bool {
	for _, s := range rec {
		if !isBlank(s) {
			return false
		}
	}
	return true
}

// trimCell trims what people type around commas. Only spaces and tabs: any
// other character is the value's own and must survive a round trip.
func trimCell(s string) string { return strings.Trim(s, " \t") }

// addRow decodes one record into an object of its kind and hands it over.
func (c *collector) addRow(h *header, rec []string, pos Position, defaultKind model.ObjectKind) {
	r := rowReader{}
	stray := 0 // the first cell with a value but no column name, from 1
	for i, v := range rec {
		col := noColumn
		if i < len(h.cols) {
			col = h.cols[i]
		}
		if col == noColumn {
			if stray == 0 && !isBlank(v) {
				stray = i + 1
			}
			continue
		}
		r.cells[col] = v
	}
	kind, ok := c.rowKind(&r, pos, defaultKind)
	if !ok {
		return
	}
	if stray > 0 {
		r.probs.add("", fmt.Sprintf("cell %d holds a value but its column has no name in the header", stray))
	}
	for _, col := range h.present {
		if !col.appliesTo(kind) && !isBlank(r.cells[col]) {
			r.probs.add(col.String(), "does not apply to a "+string(kind)+" (leave it blank)")
		}
	}
	// Build the object first, then pass r.probs: building it records the
	// cells that do not parse, and Go does not order the evaluation of
	// r.probs against a call in the same argument list.
	switch kind {
	case model.ObjectLocation:
		l := r.location()
		c.addLocation(l, pos, r.probs)
	case model.ObjectSNMPProfile:
		p := r.snmpProfile()
		c.addSNMPProfile(p, pos, r.probs)
	case model.ObjectNode:
		n := r.node()
		c.addNode(n, pos, r.probs)
	case model.ObjectLink:
		l := r.link()
		c.addLink(l, pos, r.probs)
	}
}

// rowKind is the kind of a row: its kind cell, else the default kind. A
// row of no known kind is reported here; nothing else can be said of it.
func (c *collector) rowKind(r *rowReader, pos Position, defaultKind model.ObjectKind) (model.ObjectKind, bool) {
	cell := r.cells[colKind]
	if isBlank(cell) {
		if defaultKind != "" {
			return defaultKind, true
		}
		c.rowError(RowError{Position: pos, Name: trimCell(r.cells[colName]), Field: colKind.String(),
			Reason: "is required (location, snmp-profile, node or link)"})
		return "", false
	}
	kind, err := model.ParseObjectKind(cell)
	if err != nil {
		c.rowError(RowError{Position: pos, Name: trimCell(r.cells[colName]), Field: colKind.String(), Reason: err.Error()})
		return "", false
	}
	return kind, true
}

// rowReader turns the cells of one row into typed values, recording a
// problem for each cell that does not parse and leaving its value zero.
type rowReader struct {
	cells [numColumns]string
	probs problems
}

// text is a free-text cell, verbatim.
func (r *rowReader) text(c column) string { return r.cells[c] }

// word is a name, enumeration or other token, trimmed.
func (r *rowReader) word(c column) string { return trimCell(r.cells[c]) }

func (r *rowReader) fail(c column, reason string) { r.probs.add(c.String(), reason) }

func (r *rowReader) int(c column) int {
	s := r.word(c)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		r.fail(c, numberError(s, err))
	}
	return n
}

// optInt is for a number whose zero is a real choice (retries): blank is nil.
func (r *rowReader) optInt(c column) *int {
	if r.word(c) == "" {
		return nil
	}
	n := r.int(c)
	return &n
}

func (r *rowReader) uint64(c column) uint64 {
	s := r.word(c)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		r.fail(c, numberError(s, err))
	}
	return n
}

func numberError(s string, err error) string {
	if errors.Is(err, strconv.ErrRange) {
		return fmt.Sprintf("%s is out of range", s)
	}
	return fmt.Sprintf("%q is not a whole number", s)
}

func (r *rowReader) duration(c column) model.Duration {
	var d model.Duration
	if err := d.UnmarshalText([]byte(r.word(c))); err != nil {
		r.fail(c, err.Error())
	}
	return d
}

// enum parses an enumeration cell with the model's parser, whose error
// lists the accepted values. Blank stays blank for validation to judge.
func enum[T ~string](r *rowReader, c column, parse func(string) (T, error)) T {
	s := r.word(c)
	if s == "" {
		return ""
	}
	v, err := parse(s)
	if err != nil {
		r.fail(c, err.Error())
	}
	return v
}

func (r *rowReader) endpoint(c column) (model.Endpoint, bool) {
	s := r.word(c)
	if s == "" {
		return model.Endpoint{}, false
	}
	e, err := model.ParseEndpoint(s)
	if err != nil {
		r.fail(c, err.Error())
		return model.Endpoint{}, false
	}
	return e, true
}

// tags splits the tags cell on ';', dropping empty items ("a;;b;").
func (r *rowReader) tags(c column) []string {
	var tags []string
	for t := range strings.SplitSeq(r.cells[c], ";") {
		if t = trimCell(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags
}

// customData parses a JSON object; numbers stay json.Number so that big
// integers survive.
func (r *rowReader) customData(c column) map[string]any {
	s := r.cells[c]
	if isBlank(s) {
		return nil
	}
	m, err := decodeJSONObject(s)
	if err != nil {
		r.fail(c, err.Error())
	}
	return m
}

func decodeJSONObject(s string) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("must be a JSON object, not a JSON %s", jsonValueKind(te.Value))
		}
		return nil, fmt.Errorf("is not a JSON object: %v", err)
	}
	if m == nil {
		return nil, errors.New("must be a JSON object, not null")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("has more after the JSON object")
	}
	return m, nil
}

func (r *rowReader) location() model.Location {
	return model.Location{
		Meta:        model.Meta{ID: r.word(colID)},
		Name:        r.word(colName),
		Kind:        enum(r, colLocationKind, model.ParseLocationKind),
		Parent:      r.word(colParent),
		Description: r.text(colDescription),
	}
}

func (r *rowReader) snmpProfile() model.SNMPProfile {
	return model.SNMPProfile{
		Meta:           model.Meta{ID: r.word(colID)},
		Name:           r.word(colName),
		Version:        enum(r, colSNMPVersion, model.ParseSNMPVersion),
		Community:      r.text(colCommunity),
		User:           r.text(colUser),
		AuthProtocol:   enum(r, colAuthProtocol, model.ParseAuthProtocol),
		AuthKey:        r.text(colAuthKey),
		PrivProtocol:   enum(r, colPrivProtocol, model.ParsePrivProtocol),
		PrivKey:        r.text(colPrivKey),
		Port:           r.int(colPort),
		Timeout:        r.duration(colTimeout),
		Retries:        r.optInt(colRetries),
		Interval:       r.duration(colInterval),
		MaxRepetitions: r.int(colMaxRepetitions),
	}
}

func (r *rowReader) node() model.Node {
	return model.Node{
		Meta:              model.Meta{ID: r.word(colID)},
		Name:              r.word(colName),
		Domain:            r.word(colDomain),
		Vendor:            enum(r, colVendor, model.ParseVendor),
		Model:             r.text(colModel),
		Role:              enum(r, colRole, model.ParseRole),
		Lifecycle:         enum(r, colLifecycle, model.ParseLifecycle),
		ManagementAddress: r.word(colManagementAddress),
		Location:          r.word(colLocation),
		SNMPProfile:       r.word(colSNMPProfile),
		Version:           r.text(colVersion),
		Serial:            r.text(colSerial),
		Tags:              r.tags(colTags),
		CustomData:        r.customData(colCustomData),
	}
}

func (r *rowReader) link() model.Link {
	l := model.Link{
		Meta:         model.Meta{ID: r.word(colID)},
		BandwidthBps: r.uint64(colBandwidthBps),
		Description:  r.text(colDescription),
	}
	// A blank a is left for validation to call required.
	l.A, _ = r.endpoint(colA)
	if z, ok := r.endpoint(colZ); ok {
		l.Z = &z
	}
	if !isBlank(r.cells[colCircuitID]) || !isBlank(r.cells[colCircuitProvider]) {
		l.Circuit = &model.Circuit{ID: r.text(colCircuitID), Provider: r.text(colCircuitProvider)}
	}
	return l
}

// EncodeCSV writes the bundle as one CSV file: a header with every column
// in the documented order, then the locations, SNMP profiles, nodes and
// links, each in the order given. A cell holding a CR LF line break (only
// a secret can, in a valid object) is refused: encoding/csv would read it
// back as LF, silently changing the value.
func EncodeCSV(w io.Writer, b *Bundle) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(columnNames()); err != nil {
		return err
	}
	for i := range b.Locations {
		l := &b.Locations[i]
		if err := writeRow(cw, locationCells(l), model.ObjectLocation, l.Name); err != nil {
			return err
		}
	}
	for i := range b.SNMPProfiles {
		p := &b.SNMPProfiles[i]
		if err := writeRow(cw, snmpProfileCells(p), model.ObjectSNMPProfile, p.Name); err != nil {
			return err
		}
	}
	for i := range b.Nodes {
		n := &b.Nodes[i]
		rec, err := nodeCells(n)
		if err != nil {
			return err
		}
		if err := writeRow(cw, rec, model.ObjectNode, n.Name); err != nil {
			return err
		}
	}
	for i := range b.Links {
		l := &b.Links[i]
		if err := writeRow(cw, linkCells(l), model.ObjectLink, linkName(l)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// errCRLF: see EncodeCSV.
var errCRLF = errors.New("holds a CR LF line break, which CSV cannot carry (export as JSON)")

func writeRow(cw *csv.Writer, rec [numColumns]string, kind model.ObjectKind, name string) error {
	for c, cell := range rec {
		if strings.Contains(cell, "\r\n") {
			// Never quote the value: it is likely a secret.
			return fmt.Errorf("%s %q: %s: %w", kind, name, column(c), errCRLF)
		}
	}
	return cw.Write(rec[:])
}

func locationCells(l *model.Location) (rec [numColumns]string) {
	rec[colKind] = string(model.ObjectLocation)
	rec[colID] = l.ID
	rec[colName] = l.Name
	rec[colLocationKind] = string(l.Kind)
	rec[colParent] = l.Parent
	rec[colDescription] = l.Description
	return rec
}

func snmpProfileCells(p *model.SNMPProfile) (rec [numColumns]string) {
	rec[colKind] = string(model.ObjectSNMPProfile)
	rec[colID] = p.ID
	rec[colName] = p.Name
	rec[colSNMPVersion] = string(p.Version)
	rec[colCommunity] = p.Community
	rec[colUser] = p.User
	rec[colAuthProtocol] = string(p.AuthProtocol)
	rec[colAuthKey] = p.AuthKey
	rec[colPrivProtocol] = string(p.PrivProtocol)
	rec[colPrivKey] = p.PrivKey
	rec[colPort] = itoaNonZero(p.Port)
	if p.Timeout != 0 {
		rec[colTimeout] = p.Timeout.String()
	}
	if p.Retries != nil {
		rec[colRetries] = strconv.Itoa(*p.Retries)
	}
	if p.Interval != 0 {
		rec[colInterval] = p.Interval.String()
	}
	rec[colMaxRepetitions] = itoaNonZero(p.MaxRepetitions)
	return rec
}

func nodeCells(n *model.Node) (rec [numColumns]string, err error) {
	rec[colKind] = string(model.ObjectNode)
	rec[colID] = n.ID
	rec[colName] = n.Name
	rec[colDomain] = n.Domain
	rec[colVendor] = string(n.Vendor)
	rec[colModel] = n.Model
	rec[colRole] = string(n.Role)
	rec[colLifecycle] = string(n.Lifecycle)
	rec[colManagementAddress] = n.ManagementAddress
	rec[colLocation] = n.Location
	rec[colSNMPProfile] = n.SNMPProfile
	rec[colVersion] = n.Version
	rec[colSerial] = n.Serial
	rec[colTags] = strings.Join(n.Tags, ";")
	if n.CustomData != nil {
		if rec[colCustomData], err = encodeJSONObject(n.CustomData); err != nil {
			return rec, fmt.Errorf("node %q: custom_data: %w", n.Name, err)
		}
	}
	return rec, nil
}

// encodeJSONObject writes compact JSON without HTML escaping: the cell is
// read by people in spreadsheets, not embedded in web pages.
func encodeJSONObject(m map[string]any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

func linkCells(l *model.Link) (rec [numColumns]string) {
	rec[colKind] = string(model.ObjectLink)
	rec[colID] = l.ID
	rec[colDescription] = l.Description
	if l.A != (model.Endpoint{}) {
		rec[colA] = l.A.String()
	}
	if l.Z != nil {
		rec[colZ] = l.Z.String()
	}
	if l.Circuit != nil {
		rec[colCircuitID] = l.Circuit.ID
		rec[colCircuitProvider] = l.Circuit.Provider
	}
	if l.BandwidthBps != 0 {
		rec[colBandwidthBps] = strconv.FormatUint(l.BandwidthBps, 10)
	}
	return rec
}

func itoaNonZero(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}
