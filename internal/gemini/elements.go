package gemini

// Value is the member's value as written, without surrounding white space; it points into the object.
func (m Member) Value() []byte { return m.value }

// Elements appends the elements of arr, which must be valid JSON (json.Valid) and an array; the
// slices point into arr. It is Members for arrays: a scan in place instead of decoding into
// []json.RawMessage.
func Elements(arr []byte, out [][]byte) [][]byte {
	i := SkipSpace(arr, 0) + 1 // past '['
	for {
		i = SkipSpace(arr, i)
		if arr[i] == ']' {
			return out
		}
		end := valueEnd(arr, i)
		out = append(out, arr[i:end])
		i = SkipSpace(arr, end)
		if arr[i] == ',' {
			i++
		}
	}
}

// EachElement yields the elements of arr (valid JSON, an array) in order, as Elements lists them,
// without collecting them.
func EachElement(arr []byte) func(yield func([]byte) bool) {
	return func(yield func([]byte) bool) {
		i := SkipSpace(arr, 0) + 1 // past '['
		for {
			i = SkipSpace(arr, i)
			if arr[i] == ']' {
				return
			}
			end := valueEnd(arr, i)
			if !yield(arr[i:end]) {
				return
			}
			i = SkipSpace(arr, end)
			if arr[i] == ',' {
				i++
			}
		}
	}
}
