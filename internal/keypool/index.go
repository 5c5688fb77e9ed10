package keypool

import "hash/maphash"

// keyIndex finds a key by a string of it (its value or its ID) in an open-addressed table of positions
// in the view's key list: 4 bytes a slot where a map[string]*Key took about 33 bytes an entry (3.3 MB
// each for the two indexes at 100,000 keys, against 0.5 MB now).
type keyIndex struct {
	slots []int32 // position+1 in keys; 0 is an empty slot
	seed  maphash.Seed
	of    func(*Key) string
}

func newKeyIndex(n int, of func(*Key) string) keyIndex {
	size := 8
	for size < n+n/4 { // at most 80% full: probe runs stay short, and lookups are rare (admin, sync)
		size <<= 1
	}
	return keyIndex{slots: make([]int32, size), seed: maphash.MakeSeed(), of: of}
}

// find returns the key whose string is s, or nil.
func (x *keyIndex) find(keys []*Key, s string) *Key {
	if len(x.slots) == 0 {
		return nil
	}
	mask := uint64(len(x.slots) - 1)
	for i := maphash.String(x.seed, s) & mask; ; i = (i + 1) & mask {
		pos := x.slots[i]
		if pos == 0 {
			return nil
		}
		if k := keys[pos-1]; x.of(k) == s {
			return k
		}
	}
}

// add records that keys[pos] is found by its string; the caller has checked it is not there yet.
func (x *keyIndex) add(keys []*Key, pos int) {
	mask := uint64(len(x.slots) - 1)
	for i := maphash.String(x.seed, x.of(keys[pos])) & mask; ; i = (i + 1) & mask {
		if x.slots[i] == 0 {
			x.slots[i] = int32(pos + 1)
			return
		}
	}
}

func keyValue(k *Key) string { return k.value }
func keyID(k *Key) string    { return k.ID() }
