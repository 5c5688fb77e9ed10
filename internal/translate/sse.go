package translate

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// maxEventBytes bounds one upstream SSE event. Events carry whole images as base64, so the bound is
// generous; it exists so a broken upstream cannot make gemgate buffer without end.
const MaxEventBytes = 64 << 20

// ErrEventTooLarge is an event beyond the reader's limit.
var ErrEventTooLarge = errors.New("upstream stream event larger than 64 MiB")

// SSEReader reads server-sent events one at a time, as they arrive: only the event being read is
// buffered. It accepts \n, \r\n and \r line ends (Google ends events with \r\n\r\n), joins multi-line
// data fields, ignores comments and other fields, and returns a last event that lacks its blank line.
type SSEReader struct {
	r     *bufio.Reader
	limit int
	data  []byte
	line  []byte
	cr    bool // the previous line ended with \r: a \n right after it is part of that line end
}

// NewSSEReader reads r with events of at most limit bytes (MaxEventBytes when limit is 0 or less).
func NewSSEReader(r io.Reader, limit int) *SSEReader {
	if limit <= 0 {
		limit = MaxEventBytes
	}
	return &SSEReader{r: bufio.NewReaderSize(r, 32<<10), limit: limit}
}

// Next returns the data of the next event, valid until the following call; io.EOF at the end.
func (s *SSEReader) Next() ([]byte, error) {
	s.data = s.data[:0]
	has := false
	for {
		line, err := s.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) && has {
				return s.data, nil
			}
			return nil, err
		}
		if len(line) == 0 {
			if has {
				return s.data, nil
			}
			continue
		}
		value, ok := dataField(line)
		if !ok {
			continue
		}
		if has {
			s.data = append(s.data, '\n')
		}
		if len(s.data)+len(value) > s.limit {
			return nil, ErrEventTooLarge
		}
		s.data = append(s.data, value...)
		has = true
	}
}

// readLine returns one line without its end. A final line without an end is returned with io.EOF
// only when it is empty.
func (s *SSEReader) readLine() ([]byte, error) {
	s.line = s.line[:0]
	for {
		b, err := s.r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) && len(s.line) > 0 {
				return s.line, nil
			}
			return nil, err
		}
		if s.cr {
			s.cr = false
			if b == '\n' {
				continue
			}
		}
		switch b {
		case '\n':
			return s.line, nil
		case '\r':
			s.cr = true
			return s.line, nil
		}
		if len(s.line) >= s.limit {
			return nil, ErrEventTooLarge
		}
		s.line = append(s.line, b)
		if len(s.line) > 64 {
			if err := s.readRun(); err != nil {
				return nil, err
			}
		}
	}
}

// readRun copies the rest of a long line in bulk instead of byte by byte.
func (s *SSEReader) readRun() error {
	for {
		buf, err := s.r.Peek(s.r.Buffered())
		if len(buf) == 0 {
			if err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			return nil
		}
		i := bytes.IndexAny(buf, "\r\n")
		if i < 0 {
			i = len(buf)
		}
		if len(s.line)+i > s.limit {
			return ErrEventTooLarge
		}
		s.line = append(s.line, buf[:i]...)
		_, _ = s.r.Discard(i)
		if i < len(buf) {
			return nil
		}
		if _, err := s.r.Peek(1); err != nil {
			return nil
		}
	}
}

// dataField returns the value of a "data:" line (one optional space after the colon is dropped).
func dataField(line []byte) ([]byte, bool) {
	value, ok := bytes.CutPrefix(line, []byte("data:"))
	if !ok {
		return nil, false
	}
	if len(value) > 0 && value[0] == ' ' {
		value = value[1:]
	}
	return value, true
}
