// Package jsonvalid reports whether bytes are one valid JSON value, exactly as encoding/json's Valid
// does, in a single pass of plain loops: encoding/json's scanner calls a function per byte, and gemgate
// validates every request body and every answer it relays (a tenth of the native path's own CPU).
package jsonvalid

// maxDepth is encoding/json's limit on nesting: deeper input is invalid to it.
const maxDepth = 10000

// Valid reports whether b is a valid JSON encoding, with json.Valid's verdict on every input: the
// grammar of RFC 8259, strings without control characters (bytes that are not UTF-8 are accepted),
// at most 10,000 levels of nesting, white space before and after.
func Valid(b []byte) bool {
	// objects has one bit per open container, set for an object, clear for an array.
	var objects [maxDepth/64 + 1]uint64
	depth := 0
	i := skipSpace(b, 0)
	for {
		// A value starts at b[i].
		if i >= len(b) {
			return false
		}
		switch c := b[i]; c {
		case '{', '[':
			if depth == maxDepth {
				return false
			}
			word, bit := depth/64, uint64(1)<<(depth%64)
			depth++
			i = skipSpace(b, i+1)
			if c == '{' {
				objects[word] |= bit
				if i < len(b) && b[i] == '}' {
					i++
					depth--
					break
				}
				if i = member(b, i); i < 0 {
					return false
				}
				continue
			}
			objects[word] &^= bit
			if i < len(b) && b[i] == ']' {
				i++
				depth--
				break
			}
			continue
		case '"':
			i = stringEnd(b, i)
		case 't':
			i = literal(b, i, "true")
		case 'f':
			i = literal(b, i, "false")
		case 'n':
			i = literal(b, i, "null")
		default:
			i = numberEnd(b, i)
		}
		if i < 0 {
			return false
		}
		// After a value: the end of the input, or what comes next in the containers it closes.
		for {
			i = skipSpace(b, i)
			if depth == 0 {
				return i == len(b)
			}
			if i >= len(b) {
				return false
			}
			inObject := objects[(depth-1)/64]&(uint64(1)<<((depth-1)%64)) != 0
			c := b[i]
			if c == ',' {
				i = skipSpace(b, i+1)
				if inObject {
					if i = member(b, i); i < 0 {
						return false
					}
				}
				break
			}
			if inObject && c == '}' || !inObject && c == ']' {
				i++
				depth--
				continue
			}
			return false
		}
	}
}

// member reads an object member's name and colon at b[i] and returns where its value starts, or -1.
func member(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	if i = stringEnd(b, i); i < 0 {
		return -1
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return -1
	}
	return skipSpace(b, i+1)
}

// plain marks the bytes a string holds as they are: not a quote, a backslash or a control character.
var plain = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= 0x20 && c != '"' && c != '\\'
	}
	return t
}()

// stringEnd returns the index just past the string that starts at b[i] ('"'), or -1.
func stringEnd(b []byte, i int) int {
	i++
	for {
		for i < len(b) && plain[b[i]] {
			i++
		}
		if i >= len(b) {
			return -1
		}
		switch b[i] {
		case '"':
			return i + 1
		case '\\':
			i++
			if i >= len(b) {
				return -1
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if i+4 >= len(b) || !isHex(b[i+1]) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) {
					return -1
				}
				i += 5
			default:
				return -1
			}
		default: // a control character
			return -1
		}
	}
}

// numberEnd returns the index just past the number that starts at b[i], or -1.
func numberEnd(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		if i++; i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		i = digits(b, i+1)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		if i++; i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		i = digits(b, i+1)
	}
	return i
}

func digits(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

// literal returns the index just past word at b[i], or -1 when b does not spell it there.
func literal(b []byte, i int, word string) int {
	if len(b)-i < len(word) || string(b[i:i+len(word)]) != word {
		return -1
	}
	return i + len(word)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }
