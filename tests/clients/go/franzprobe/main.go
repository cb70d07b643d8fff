// franz-go (github.com/twmb/franz-go), the Go client, against one broker, for
// tests/clients/test_go_clients.py: prints one line per observation and nothing else on
// stdout; never decides whether the broker was right: the Python test compares Odradek's
// lines with Apache Kafka's.
//
//	franzprobe BOOTSTRAP RUN_ID [848]
//
// It creates its topics, produces with the client's defaults (idempotent, batched) and
// with every codec, consumes in a group of two members and commits, reads the group's lag,
// moves a partition's start with DeleteRecords, changes a topic config, copies a topic
// exactly once in a GroupTransactSession, and aborts a transaction. With "848" the groups
// use KIP-848's protocol (the broker assigns, with the range assignor).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	partitions = 3
	records    = 900
	limit      = 60 * time.Second
)

var (
	bootstrap string
	run       string
	groupOpts []kgo.Opt // how every group of the probe is joined
)

func say(format string, args ...any) { fmt.Printf(format+"\n", args...) }

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
	os.Exit(1)
}

func client(opts ...kgo.Opt) *kgo.Client {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(bootstrap)}, opts...)...)
	if err != nil {
		fail("client", err)
	}
	return cl
}

func errName(err error) string {
	if err == nil {
		return "OK"
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Message
	}
	return "ERROR " + err.Error()
}

func produce(cl *kgo.Client, topic string, n int, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	recs := make([]*kgo.Record, 0, n)
	for i := 0; i < n; i++ {
		recs = append(recs, &kgo.Record{
			Topic: topic,
			Key:   []byte(fmt.Sprintf("k%d", i)),
			Value: []byte(fmt.Sprintf("%s%d", prefix, i)),
		})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		fail("produce to "+topic, err)
	}
}

// readAll reads `want` records of `topic` from the start with a fresh client; the values
// in offset order per partition, joined.
func readAll(topic string, want int, opts ...kgo.Opt) (int, string) {
	cl := client(append([]kgo.Opt{kgo.ConsumeTopics(topic)}, opts...)...)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	byPartition := map[int32][]string{}
	got := 0
	for got < want {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		fetches.EachError(func(t string, p int32, err error) { fail(fmt.Sprintf("fetch %s-%d", t, p), err) })
		fetches.EachRecord(func(r *kgo.Record) {
			byPartition[r.Partition] = append(byPartition[r.Partition], string(r.Value))
			got++
		})
	}
	keys := make([]int, 0, len(byPartition))
	for p := range byPartition {
		keys = append(keys, int(p))
	}
	sort.Ints(keys)
	parts := []string{}
	for _, p := range keys {
		parts = append(parts, fmt.Sprintf("p%d=%d", p, len(byPartition[int32(p)])))
	}
	return got, strings.Join(parts, ",")
}

func main() {
	bootstrap, run = os.Args[1], os.Args[2]
	if len(os.Args) > 3 && os.Args[3] == "848" {
		groupOpts = []kgo.Opt{kgo.ServerSideBalancer(), kgo.Balancers(kgo.RangeBalancer())}
	}
	ctx := context.Background()
	in, out, codecs, compacted := "franz-in-"+run, "franz-out-"+run, "franz-codecs-"+run, "franz-compact-"+run
	group := "franz-group-" + run

	admin := client()
	defer admin.Close()
	adm := kadm.NewClient(admin)

	created, err := adm.CreateTopics(ctx, partitions, 1, nil, in, out, codecs)
	if err != nil {
		fail("create", err)
	}
	for _, name := range []string{in, out, codecs} {
		say("create %s %s", strings.TrimSuffix(name, "-"+run), errName(created[name].Err))
	}
	again, _ := adm.CreateTopics(ctx, partitions, 1, nil, in)
	say("create again %s", errName(again[in].Err))
	policy := "compact"
	compactedMade, _ := adm.CreateTopics(ctx, 1, 1, map[string]*string{"cleanup.policy": &policy}, compacted)
	say("create compacted %s", errName(compactedMade[compacted].Err))

	// The client's defaults: idempotent, batched, snappy where the broker takes it.
	producer := client()
	produce(producer, in, records, "v")
	producer.Close()
	say("produced %d", records)

	for _, codec := range []kgo.CompressionCodec{kgo.GzipCompression(), kgo.SnappyCompression(), kgo.Lz4Compression(), kgo.ZstdCompression(), kgo.NoCompression()} {
		cl := client(kgo.ProducerBatchCompression(codec))
		produce(cl, codecs, 20, "c")
		cl.Close()
	}
	got, spread := readAll(codecs, 100)
	say("codecs read %d", got)

	// A group of two members, committing what they read.
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	total := 0
	// Cancelled once every record was read: the members stop polling.
	gctx, stop := context.WithTimeout(ctx, limit)
	members := []*kgo.Client{}
	for m := 0; m < 2; m++ {
		cl := client(append([]kgo.Opt{kgo.ConsumerGroup(group), kgo.ConsumeTopics(in), kgo.DisableAutoCommit()}, groupOpts...)...)
		members = append(members, cl)
		wg.Add(1)
		go func(cl *kgo.Client) {
			defer wg.Done()
			for {
				fetches := cl.PollFetches(gctx)
				if gctx.Err() != nil {
					return
				}
				fetches.EachRecord(func(r *kgo.Record) {
					mu.Lock()
					seen[string(r.Value)]++
					total++
					if total == records {
						stop()
					}
					mu.Unlock()
				})
				// Committed on the test's own context: the last commit outlives the stop.
				if err := cl.CommitUncommittedOffsets(ctx); err != nil {
					fail("commit", err)
				}
			}
		}(cl)
	}
	wg.Wait()
	stop()
	twice := 0
	for _, n := range seen {
		if n > 1 {
			twice++
		}
	}
	say("group read %d distinct %d twice %d", total, len(seen), twice)
	for _, cl := range members {
		cl.Close() // leaves the group
	}

	lags, err := adm.Lag(ctx, group)
	if err != nil {
		fail("lag", err)
	}
	lag := lags[group]
	say("group state %s protocol %s lag %d error %s", lag.State, lag.Protocol, lag.Lag.Total(), errName(lag.Error()))
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		fail("fetch offsets", err)
	}
	sum := int64(0)
	committed.Each(func(o kadm.OffsetResponse) { sum += o.At })
	say("committed sum %d", sum)

	ends, err := adm.ListEndOffsets(ctx, in)
	if err != nil {
		fail("end offsets", err)
	}
	endSum := int64(0)
	ends.Each(func(o kadm.ListedOffset) { endSum += o.Offset })
	say("end sum %d", endSum)
	deleted, err := adm.DeleteRecords(ctx, kadm.Offsets{in: {0: {Topic: in, Partition: 0, At: 10}}})
	if err != nil {
		fail("delete records", err)
	}
	deleted.Each(func(d kadm.DeleteRecordsResponse) {
		say("delete records p%d low %d %s", d.Partition, d.LowWatermark, errName(d.Err))
	})
	starts, _ := adm.ListStartOffsets(ctx, in)
	for p := int32(0); p < partitions; p++ {
		o, _ := starts.Lookup(in, p)
		say("start p%d %d", p, o.Offset)
	}

	retention := "3600000"
	altered, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: &retention}}, in)
	if err != nil {
		fail("alter configs", err)
	}
	for _, a := range altered {
		say("alter configs %s", errName(a.Err))
	}
	configs, err := adm.DescribeTopicConfigs(ctx, in, compacted)
	if err != nil {
		fail("describe configs", err)
	}
	for _, rc := range configs {
		for _, c := range rc.Configs {
			if c.Key == "retention.ms" || c.Key == "cleanup.policy" {
				say("config %s %s=%s %s", strings.TrimSuffix(rc.Name, "-"+run), c.Key, c.MaybeValue(), c.Source)
			}
		}
	}

	// Exactly once: a GroupTransactSession copies `in` to `out`.
	sess, err := kgo.NewGroupTransactSession(append([]kgo.Opt{
		kgo.SeedBrokers(bootstrap),
		kgo.TransactionalID("franz-txn-" + run),
		kgo.ConsumerGroup("franz-copier-" + run),
		kgo.ConsumeTopics(in),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequireStableFetchOffsets(),
	}, groupOpts...)...)
	if err != nil {
		fail("session", err)
	}
	copied := 0
	want := records - 10 // DeleteRecords moved partition 0's start past 10 records
	sctx, cancel := context.WithTimeout(ctx, limit)
	for copied < want && sctx.Err() == nil {
		fetches := sess.PollFetches(sctx)
		if err := sess.Begin(); err != nil {
			fail("begin", err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			sess.Produce(sctx, &kgo.Record{Topic: out, Key: r.Key, Value: r.Value}, func(_ *kgo.Record, err error) {
				if err != nil {
					fail("copy", err)
				}
			})
			copied++
		})
		committed, err := sess.End(sctx, kgo.TryCommit)
		if err != nil || !committed {
			fail("end", fmt.Errorf("committed=%v: %w", committed, err))
		}
	}
	cancel()
	sess.Close()
	say("copied %d", copied)
	got, spread = readAll(out, want, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	say("copy read_committed %d %s", got, spread)

	// An aborted transaction: invisible to read_committed.
	txn := client(kgo.TransactionalID("franz-abort-" + run))
	if err := txn.BeginTransaction(); err != nil {
		fail("begin", err)
	}
	produce(txn, out, 5, "aborted")
	if err := txn.EndTransaction(ctx, kgo.TryAbort); err != nil {
		fail("abort", err)
	}
	txn.Close()
	produce(client(), out, 1, "after") // read_committed reads past the abort to this one
	got, _ = readAll(out, want+1, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	say("after abort read_committed %d", got)
	got, _ = readAll(out, want+6, kgo.FetchIsolationLevel(kgo.ReadUncommitted()))
	say("after abort read_uncommitted %d", got)

	groups, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		fail("describe groups", err)
	}
	for _, g := range groups {
		say("describe group %s members %d %s", g.State, len(g.Members), errName(g.Err))
	}
	deletedGroups, err := adm.DeleteGroups(ctx, group)
	if err != nil {
		fail("delete groups", err)
	}
	for _, g := range deletedGroups {
		say("delete group %s", errName(g.Err))
	}
}
