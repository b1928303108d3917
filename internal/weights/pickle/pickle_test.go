package pickle_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/internal/weights/pickle"
)

// plain allows no globals and no persistent ids.
type plain struct{}

func (plain) Global(module, name string) (any, error) {
	return nil, fmt.Errorf("class %s.%s is not allowed", module, name)
}
func (plain) PersistentLoad(pid any) (any, error) { return nil, errors.New("no persistent ids") }

// TestUnpickle decodes pickles made by Python's pickle.dumps (protocols 2
// and 4, bytes written out here by hand from its output).
func TestUnpickle(t *testing.T) {
	cases := []struct {
		name string
		data string
		want any
	}{
		// pickle.dumps((1, -2, 300, 70000, 2**40, True, None, 1.5, 'ab'), 2)
		{"scalars", "\x80\x02(K\x01J\xfe\xff\xff\xffM,\x01Jp\x11\x01\x00\x8a\x06\x00\x00\x00\x00\x00\x01\x88NG?\xf8\x00\x00\x00\x00\x00\x00X\x02\x00\x00\x00abq\x00tq\x01.",
			pickle.Tuple{int64(1), int64(-2), int64(300), int64(70000), int64(1) << 40, true, nil, 1.5, "ab"}},
		// pickle.dumps([1, [2]], 4) (with FRAME and MEMOIZE)
		{"nested list protocol 4", "\x80\x04\x95\x0c\x00\x00\x00\x00\x00\x00\x00]\x94(K\x01]\x94K\x02ae.",
			&pickle.List{Items: []any{int64(1), &pickle.List{Items: []any{int64(2)}}}}},
		// a memoized value fetched twice
		{"memo", "\x80\x02X\x01\x00\x00\x00xq\x00h\x00\x86q\x01.", pickle.Tuple{"x", "x"}},
		{"negative long", "\x80\x02\x8a\x01\xff.", int64(-1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pickle.Unpickle([]byte(tc.data), plain{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnpickleDict(t *testing.T) {
	// pickle.dumps({'a': 1, 'b': (2,)}, 2)
	got, err := pickle.Unpickle([]byte("\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01K\x01X\x01\x00\x00\x00bq\x02K\x02\x85q\x03u."), plain{})
	if err != nil {
		t.Fatal(err)
	}
	d, ok := got.(*pickle.Dict)
	if !ok || d.Len() != 2 {
		t.Fatalf("got %#v", got)
	}
	if v, _ := d.Get("b"); !cmp.Equal(v, pickle.Tuple{int64(2)}) {
		t.Errorf("d['b'] = %v", v)
	}
}

func TestUnpickleErrors(t *testing.T) {
	cases := []struct{ name, data, want string }{
		{"no stop", "\x80\x02K\x01", "truncated: no STOP opcode"},
		{"text protocol", "I1\n.", "unsupported opcode INT"},
		{"global refused", "\x80\x02cos\nsystem\n.", "class os.system is not allowed"},
		{"stack underflow", "\x80\x02a.", "stack underflow"},
		{"bad memo", "\x80\x02h\x05.", "memo key 5 was never stored"},
		{"trailing bytes", "\x80\x02N.N", "1 bytes after STOP"},
		{"truncated string", "\x80\x02X\xff\x00\x00\x00ab", "truncated"},
		{"protocol 6", "\x80\x06N.", "protocol 6 is not supported"},
		{"reduce on a value", "\x80\x02K\x01)R.", "cannot be called"},
		{"unhashable key", "\x80\x02}]K\x01s.", "unhashable dict key of type list"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pickle.Unpickle([]byte(tc.data), plain{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestEncoderRoundTrip decodes what the Encoder writes.
func TestEncoderRoundTrip(t *testing.T) {
	e := pickle.NewEncoder()
	e.Mark()
	for _, v := range []int64{0, 255, 256, 65535, 65536, -1, 1 << 33, -(1 << 40)} {
		e.Int(v)
	}
	e.String("héllo")
	e.Bool(true)
	e.Bool(false)
	e.None()
	e.EmptyTuple()
	e.Tuple()
	got, err := pickle.Unpickle(e.Bytes(), plain{})
	if err != nil {
		t.Fatal(err)
	}
	want := pickle.Tuple{int64(0), int64(255), int64(256), int64(65535), int64(65536), int64(-1), int64(1 << 33), int64(-(1 << 40)), "héllo", true, false, nil, pickle.Tuple{}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func FuzzUnpickle(f *testing.F) {
	f.Add([]byte("\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01K\x01X\x01\x00\x00\x00bq\x02K\x02\x85q\x03u."))
	f.Add([]byte("\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00]\x94(K\x01]\x94K\x02ae."))
	f.Fuzz(func(t *testing.T, b []byte) {
		pickle.Unpickle(b, plain{})
	})
}
