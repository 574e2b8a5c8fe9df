// Porcupine driver for our JSON Lines histories: a copy of
// ../shared/tools/porcupine/driver/main.go (not ours to edit) that times what the
// harness's checker times. Build: bench/porcupine_driver/build.sh.
//
// The only change: "seconds" spans from the decoded ops (values decoded to Go types,
// as our reader hands the checker Python values) to the verdict: building the events
// (model inputs and outputs per op), sorting them by time, and CheckEventsTimeout.
// The original's "seconds" starts at CheckEventsTimeout, so it leaves out the event
// building and sorting that our elapsed_s includes (our checker turns ops into
// per-key calls and sorts their entries inside check_linearizable). The original
// figure is still printed as "check_events_seconds".
//
// Porcupine driver for our JSON Lines histories (shared/corpus/README.md format).
//
// usage: porcupine-driver [flags] FILE.jsonl
//
// Prints one JSON object: {"result": "ok|illegal|unknown", "seconds": S, ...}.
// "seconds" times only porcupine.CheckEventsTimeout / CheckEventsVerbose (which
// includes Porcupine's own partitioning); reading/parsing the file and building
// the events are excluded.
//
// Semantics (flags pick what each history set needs):
//   - ops are paired invoke -> completion per process; events of process "nemesis" are ignored;
//     an invoke with no completion is an info op.
//   - fail: dropped (did not take effect). With -fail-cas=compare a failed cas is kept and
//     means "the CAS ran and its compare failed" (Porcupine's own etcd test model).
//   - info: Porcupine maintainers' recipe: the return event is put after every other event
//     (time infinity) and its output is "unknown", so Step accepts any output
//     (read: anything; write: applies; cas: applies iff state == expected).
//   - events are ordered by the "time" field, calls before returns at equal times
//     (closed intervals, the same as porcupine.CheckOperations and as our checker).
//   - models: cas-register (one register per key via PartitionEvent), kv (string
//     registers per key, get/put/append, initial ""), multi-register (txn of
//     [read|write, reg, v] micro-ops, one partition).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"
)

// ---------- values ----------

// rv is a register value: nil (has=false) or an int.
type rv struct {
	has bool
	v   int64
}

func parseRV(raw json.RawMessage) rv {
	if len(raw) == 0 || string(raw) == "null" {
		return rv{}
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil {
		die("value %s is not an int or null", string(raw))
	}
	return rv{true, n}
}

func hashRV(x rv) uint64 {
	if !x.has {
		return 0x9e3779b97f4a7c15
	}
	h := uint64(x.v) * 0xff51afd7ed558ccd
	return h ^ (h >> 33)
}

// ---------- cas-register ----------

type regIn struct {
	key  string
	op   uint8 // 0 read, 1 write, 2 cas
	a, b rv
}

type regOut struct {
	unknown   bool // info op (or read whose value is a wildcard)
	val       rv   // read result
	casFailed bool // -fail-cas=compare: the cas's compare returned false
}

func regModel(init rv) porcupine.Model {
	return porcupine.Model{
		PartitionEvent: partitionByKey(func(v interface{}) string { return v.(regIn).key }),
		Init:           func() interface{} { return init },
		Step: func(state, input, output interface{}) (bool, interface{}) {
			st := state.(rv)
			in := input.(regIn)
			out := output.(regOut)
			switch in.op {
			case 0:
				return out.unknown || out.val == st, st
			case 1:
				return true, in.a
			default:
				if out.unknown {
					if st == in.a {
						return true, in.b
					}
					return true, st
				}
				if out.casFailed {
					return st != in.a, st
				}
				return st == in.a, in.b
			}
		},
		Hash: func(state interface{}) uint64 { return hashRV(state.(rv)) },
	}
}

// ---------- kv ----------

type kvIn struct {
	key   string
	op    uint8 // 0 get, 1 put, 2 append
	value string
}

type kvOut struct {
	unknown bool
	value   string
}

func kvModel(init string) porcupine.Model {
	return porcupine.Model{
		PartitionEvent: partitionByKey(func(v interface{}) string { return v.(kvIn).key }),
		Init:           func() interface{} { return init },
		Step: func(state, input, output interface{}) (bool, interface{}) {
			st := state.(string)
			in := input.(kvIn)
			out := output.(kvOut)
			switch in.op {
			case 0:
				return out.unknown || out.value == st, st
			case 1:
				return true, in.value
			default:
				return true, st + in.value
			}
		},
		Hash: func(state interface{}) uint64 {
			// FNV-1a, as porcupine's kvModel
			h := uint64(14695981039346656037)
			s := state.(string)
			for i := 0; i < len(s); i++ {
				h ^= uint64(s[i])
				h *= 1099511628211
			}
			return h
		},
	}
}

// ---------- multi-register ----------

const maxRegs = 8

type mstate [maxRegs]rv

type mop struct {
	write bool
	reg   int
	v     rv // write value, or value read (has=false: wildcard)
}

type mIn struct{ ops []mop } // invoked micro-ops

type mOut struct {
	unknown bool
	ops     []mop // completed micro-ops (reads filled in)
}

func multiModel(init rv) porcupine.Model {
	return porcupine.Model{
		Init: func() interface{} {
			var s mstate
			for i := range s {
				s[i] = init
			}
			return s
		},
		Step: func(state, input, output interface{}) (bool, interface{}) {
			st := state.(mstate)
			in := input.(mIn)
			out := output.(mOut)
			ops := in.ops
			if !out.unknown {
				ops = out.ops
			}
			for _, m := range ops {
				if m.write {
					st[m.reg] = m.v
				} else if !out.unknown && m.v.has && st[m.reg] != m.v {
					return false, state
				}
			}
			return true, st
		},
		Hash: func(state interface{}) uint64 {
			st := state.(mstate)
			var h uint64 = 1469598103934665603
			for _, x := range st {
				h = (h ^ hashRV(x)) * 1099511628211
			}
			return h
		},
	}
}

// ---------- partitioning ----------

func partitionByKey(keyOf func(interface{}) string) func([]porcupine.Event) [][]porcupine.Event {
	return func(history []porcupine.Event) [][]porcupine.Event {
		m := make(map[string][]porcupine.Event)
		order := []string{}
		match := make(map[int]string)
		for _, e := range history {
			var k string
			if e.Kind == porcupine.CallEvent {
				k = keyOf(e.Value)
				match[e.Id] = k
			} else {
				k = match[e.Id]
			}
			if _, ok := m[k]; !ok {
				order = append(order, k)
			}
			m[k] = append(m[k], e)
		}
		ret := make([][]porcupine.Event, 0, len(m))
		for _, k := range order {
			ret = append(ret, m[k])
		}
		return ret
	}
}

// ---------- history reading ----------

type line struct {
	Process json.RawMessage `json:"process"`
	Type    string          `json:"type"`
	F       string          `json:"f"`
	Key     json.RawMessage `json:"key"`
	Value   json.RawMessage `json:"value"`
	Time    int64           `json:"time"`
}

type op struct {
	f, key   string
	typ      string // ok, fail, info
	inv, ret int64
	invVal   json.RawMessage
	compVal  json.RawMessage
	seq      int
}

func die(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "porcupine-driver: "+format+"\n", a...)
	os.Exit(254)
}

func readOps(path string) []op {
	fh, err := os.Open(path)
	if err != nil {
		die("%v", err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<28)
	pending := map[string]int{}
	var ops []op
	n := 0
	for sc.Scan() {
		n++
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		var l line
		if err := json.Unmarshal(b, &l); err != nil {
			die("%s:%d: %v", path, n, err)
		}
		p := string(l.Process)
		if p == `"nemesis"` {
			continue
		}
		key := "\x00null"
		if len(l.Key) > 0 && string(l.Key) != "null" {
			key = string(l.Key)
		}
		if l.Type == "invoke" {
			if _, ok := pending[p]; ok {
				die("%s:%d: process %s has two invokes outstanding", path, n, p)
			}
			pending[p] = len(ops)
			ops = append(ops, op{f: l.F, key: key, typ: "info", inv: l.Time, ret: math.MaxInt64, invVal: l.Value, seq: len(ops)})
			continue
		}
		i, ok := pending[p]
		if !ok {
			die("%s:%d: completion without invoke", path, n)
		}
		delete(pending, p)
		o := &ops[i]
		if o.f != l.F {
			die("%s:%d: completion f %q != invoke f %q", path, n, l.F, o.f)
		}
		o.typ = l.Type
		o.compVal = l.Value
		if l.Type != "info" {
			o.ret = l.Time
		}
	}
	if err := sc.Err(); err != nil {
		die("%v", err)
	}
	return ops // still-pending invokes stay typ "info", ret = +inf
}

// ---------- building events ----------

type ev struct {
	t      int64
	ret    bool
	seq    int
	client int
	val    interface{}
}

func main() {
	model := flag.String("model", "cas-register", "cas-register | kv | multi-register")
	initS := flag.String("init", "null", "initial register value as JSON (null or an int; kv: a JSON string, default \"\")")
	nullRead := flag.String("null-read", "absent", "ok read of null means: absent | unknown (wildcard)")
	failCas := flag.String("fail-cas", "drop", "fail cas: drop (did not happen) | compare (compare returned false)")
	timeout := flag.Float64("timeout", 0, "seconds; 0 = no limit")
	verbose := flag.Bool("verbose", false, "use CheckEventsVerbose (computes visualization info) instead of CheckEventsTimeout")
	flag.Parse()
	if flag.NArg() != 1 {
		die("usage: porcupine-driver [flags] FILE.jsonl")
	}
	path := flag.Arg(0)
	ops := readOps(path)

	var m porcupine.Model
	regIdx := map[string]int{}
	parseTxn := func(raw json.RawMessage) []mop {
		var items [][]json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			die("txn value %s: %v", string(raw), err)
		}
		out := make([]mop, 0, len(items))
		for _, it := range items {
			var f, r string
			json.Unmarshal(it[0], &f)
			json.Unmarshal(it[1], &r)
			idx, ok := regIdx[r]
			if !ok {
				idx = len(regIdx)
				if idx >= maxRegs {
					die("more than %d registers", maxRegs)
				}
				regIdx[r] = idx
			}
			out = append(out, mop{write: f == "write", reg: idx, v: parseRV(it[2])})
		}
		return out
	}

	switch *model {
	case "cas-register":
		m = regModel(parseRV(json.RawMessage(*initS)))
	case "multi-register":
		m = multiModel(parseRV(json.RawMessage(*initS)))
	case "kv":
		init := ""
		if *initS != "null" {
			json.Unmarshal([]byte(*initS), &init)
		}
		m = kvModel(init)
	default:
		die("unknown model %q", *model)
	}

	type decodedOp struct {
		o       op
		in, out interface{}
	}
	var decoded []decodedOp
	for _, o := range ops {
		var in, out interface{}
		info := o.typ == "info"
		if o.typ == "fail" && !(*failCas == "compare" && *model == "cas-register" && o.f == "cas") {
			continue
		}
		switch *model {
		case "cas-register":
			var ri regIn
			ri.key = o.key
			ro := regOut{unknown: info}
			switch o.f {
			case "read":
				ri.op = 0
				if !info {
					ro.val = parseRV(o.compVal)
					if !ro.val.has && *nullRead == "unknown" {
						ro.unknown = true
					}
				}
			case "write":
				ri.op = 1
				ri.a = parseRV(o.invVal)
			case "cas":
				ri.op = 2
				var pair []json.RawMessage
				if err := json.Unmarshal(o.invVal, &pair); err != nil || len(pair) != 2 {
					die("cas value %s", string(o.invVal))
				}
				ri.a, ri.b = parseRV(pair[0]), parseRV(pair[1])
				ro.casFailed = o.typ == "fail"
			default:
				die("cas-register: unknown f %q", o.f)
			}
			in, out = ri, ro
		case "kv":
			ki := kvIn{key: o.key}
			ko := kvOut{unknown: info}
			switch o.f {
			case "get":
				ki.op = 0
				if !info {
					json.Unmarshal(o.compVal, &ko.value)
				}
			case "put", "append":
				ki.op = 1
				if o.f == "append" {
					ki.op = 2
				}
				json.Unmarshal(o.invVal, &ki.value)
			default:
				die("kv: unknown f %q", o.f)
			}
			in, out = ki, ko
		case "multi-register":
			mi := mIn{ops: parseTxn(o.invVal)}
			mo := mOut{unknown: info}
			if !info {
				mo.ops = parseTxn(o.compVal)
				if *nullRead == "absent" {
					die("multi-register supports only -null-read unknown")
				}
			}
			in, out = mi, mo
		}
		decoded = append(decoded, decodedOp{o, in, out})
	}

	start := time.Now()
	var evs []ev
	kept := 0
	for _, d := range decoded {
		evs = append(evs, ev{d.o.inv, false, d.o.seq, 0, d.in}, ev{d.o.ret, true, d.o.seq, 0, d.out})
		kept++
	}
	sort.SliceStable(evs, func(i, j int) bool {
		if evs[i].t != evs[j].t {
			return evs[i].t < evs[j].t
		}
		return !evs[i].ret && evs[j].ret // calls before returns at equal times
	})
	events := make([]porcupine.Event, len(evs))
	for i, e := range evs {
		kind := porcupine.CallEvent
		if e.ret {
			kind = porcupine.ReturnEvent
		}
		events[i] = porcupine.Event{ClientId: 0, Kind: kind, Value: e.val, Id: e.seq}
	}
	limit := time.Duration(*timeout * float64(time.Second))
	var res porcupine.CheckResult
	checkStart := time.Now()
	if *verbose {
		res, _ = porcupine.CheckEventsVerbose(m, events, limit)
	} else {
		res = porcupine.CheckEventsTimeout(m, events, limit)
	}
	checkSecs := time.Since(checkStart).Seconds()
	secs := time.Since(start).Seconds()
	partitions := 1
	if m.PartitionEvent != nil {
		partitions = len(m.PartitionEvent(events))
	}

	names := map[porcupine.CheckResult]string{porcupine.Ok: "ok", porcupine.Illegal: "illegal", porcupine.Unknown: "unknown"}
	outj, _ := json.Marshal(map[string]interface{}{
		"result": names[res], "seconds": secs, "check_events_seconds": checkSecs,
		"ops": len(ops), "ops_checked": kept,
		"partitions": partitions, "verbose": *verbose,
	})
	fmt.Println(string(outj))
}
