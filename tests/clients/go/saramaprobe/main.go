// Sarama (github.com/IBM/sarama), the other Go client, against one broker, for
// tests/clients/test_go_clients.py: prints one line per observation and nothing else on
// stdout; never decides whether the broker was right: the Python test compares Odradek's
// lines with Apache Kafka's.
//
//	saramaprobe BOOTSTRAP RUN_ID VERSION
//
// VERSION is the protocol level Sarama is told the cluster speaks: "default" (Sarama's own
// default, Kafka 2.1, so older request versions) or "max" (the newest it knows). It creates
// topics, produces with a SyncProducer and with every codec, reads in a group of two
// members that commit, reads offsets and the group back with the ClusterAdmin, moves a
// partition's start with DeleteRecords, changes a topic config, and commits and aborts a
// transaction read at both isolation levels.
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

	"github.com/IBM/sarama"
)

const (
	partitions = 3
	records    = 900
	limit      = 60 * time.Second
)

var (
	addrs   []string
	version sarama.KafkaVersion
)

func say(format string, args ...any) { fmt.Printf(format+"\n", args...) }

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
	os.Exit(1)
}

func config() *sarama.Config {
	c := sarama.NewConfig()
	c.Version = version
	c.ClientID = "saramaprobe"
	c.Producer.Return.Successes = true
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	c.Consumer.Group.Session.Timeout = 6 * time.Second
	c.Consumer.Group.Heartbeat.Interval = time.Second
	c.Consumer.Group.Rebalance.Timeout = 6 * time.Second
	return c
}

func errName(err error) string {
	if err == nil {
		return "OK"
	}
	var ke sarama.KError
	if errors.As(err, &ke) {
		return fmt.Sprintf("kafka error %d", int16(ke))
	}
	var te *sarama.TopicError
	if errors.As(err, &te) && te.Err != sarama.ErrNoError {
		return fmt.Sprintf("kafka error %d", int16(te.Err))
	}
	return "ERROR " + err.Error()
}

func messages(topic string, n int, prefix string) []*sarama.ProducerMessage {
	out := make([]*sarama.ProducerMessage, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, &sarama.ProducerMessage{
			Topic: topic,
			Key:   sarama.StringEncoder(fmt.Sprintf("k%d", i)),
			Value: sarama.StringEncoder(fmt.Sprintf("%s%d", prefix, i)),
		})
	}
	return out
}

func produce(c *sarama.Config, topic string, n int, prefix string) {
	p, err := sarama.NewSyncProducer(addrs, c)
	if err != nil {
		fail("producer", err)
	}
	defer p.Close()
	if err := p.SendMessages(messages(topic, n, prefix)); err != nil {
		fail("produce to "+topic, err)
	}
}

// readAll reads every partition of `topic` from its start until `want` records came;
// how many per partition.
func readAll(c *sarama.Config, topic string, want int) string {
	consumer, err := sarama.NewConsumer(addrs, c)
	if err != nil {
		fail("consumer", err)
	}
	defer consumer.Close()
	counts := make([]int, partitions)
	got := 0
	var mu sync.Mutex
	done := make(chan struct{})
	for p := int32(0); p < partitions; p++ {
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			fail("consume partition", err)
		}
		defer pc.Close()
		go func(p int32, pc sarama.PartitionConsumer) {
			for range pc.Messages() {
				mu.Lock()
				counts[p]++
				got++
				if got == want {
					close(done)
				}
				mu.Unlock()
			}
		}(p, pc)
	}
	select {
	case <-done:
	case <-time.After(limit):
		fail("read "+topic, fmt.Errorf("%d of %d records", got, want))
	}
	mu.Lock()
	defer mu.Unlock()
	parts := []string{}
	for p, n := range counts {
		parts = append(parts, fmt.Sprintf("p%d=%d", p, n))
	}
	return strings.Join(parts, ",")
}

type member struct {
	mu    *sync.Mutex
	seen  map[string]int
	total *int
	stop  context.CancelFunc
}

func (member) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (member) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (m member) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		var msg *sarama.ConsumerMessage
		select {
		case msg = <-claim.Messages():
			if msg == nil {
				return nil // the claim ended
			}
		case <-sess.Context().Done():
			return nil // a rebalance: the session must end for the group to go on
		}
		// Marked offsets are committed every second and when the member leaves.
		sess.MarkMessage(msg, "")
		m.mu.Lock()
		m.seen[string(msg.Value)]++
		*m.total++
		if *m.total == records {
			m.stop()
		}
		m.mu.Unlock()
	}
}

func main() {
	addrs = []string{os.Args[1]}
	run := os.Args[2]
	version = sarama.V2_1_0_0
	if os.Args[3] == "max" {
		version = sarama.MaxVersion
	}
	in, out, codecs := "sarama-in-"+run, "sarama-out-"+run, "sarama-codecs-"+run
	group := "sarama-group-" + run

	admin, err := sarama.NewClusterAdmin(addrs, config())
	if err != nil {
		fail("admin", err)
	}
	defer admin.Close()
	detail := &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1}
	for _, name := range []string{in, out, codecs} {
		say("create %s %s", strings.TrimSuffix(name, "-"+run), errName(admin.CreateTopic(name, detail, false)))
	}
	say("create again %s", errName(admin.CreateTopic(in, detail, false)))

	produce(config(), in, records, "v")
	say("produced %d", records)
	for _, codec := range []sarama.CompressionCodec{sarama.CompressionGZIP, sarama.CompressionSnappy, sarama.CompressionLZ4, sarama.CompressionZSTD, sarama.CompressionNone} {
		c := config()
		c.Producer.Compression = codec
		produce(c, codecs, 20, "c")
	}
	say("codecs read %s", readAll(config(), codecs, 100))

	// A group of two members committing what they read.
	gctx, stop := context.WithTimeout(context.Background(), limit)
	defer stop()
	var mu sync.Mutex
	seen := map[string]int{}
	total := 0
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		cg, err := sarama.NewConsumerGroup(addrs, group, config())
		if err != nil {
			fail("group", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cg.Close()
			for gctx.Err() == nil {
				if err := cg.Consume(gctx, []string{in}, member{&mu, seen, &total, stop}); err != nil && gctx.Err() == nil {
					fail("consume", err)
				}
			}
		}()
	}
	wg.Wait()
	twice := 0
	for _, n := range seen {
		if n > 1 {
			twice++
		}
	}
	say("group read %d distinct %d twice %d", total, len(seen), twice)

	offsets, err := admin.ListConsumerGroupOffsets(group, nil)
	if err != nil {
		fail("group offsets", err)
	}
	sum := int64(0)
	for _, blocks := range offsets.Blocks {
		for _, b := range blocks {
			sum += b.Offset
		}
	}
	say("committed sum %d", sum)
	groups, err := admin.DescribeConsumerGroups([]string{group})
	if err != nil {
		fail("describe groups", err)
	}
	for _, g := range groups {
		say("describe group %s members %d protocol type %s %s", g.State, len(g.Members), g.ProtocolType, errName(g.Err))
	}

	client, err := sarama.NewClient(addrs, config())
	if err != nil {
		fail("client", err)
	}
	defer client.Close()
	if err := admin.DeleteRecords(in, map[int32]int64{0: 10}); err != nil {
		fail("delete records", err)
	}
	for p := int32(0); p < partitions; p++ {
		start, err := client.GetOffset(in, p, sarama.OffsetOldest)
		if err != nil {
			fail("start offset", err)
		}
		end, err := client.GetOffset(in, p, sarama.OffsetNewest)
		if err != nil {
			fail("end offset", err)
		}
		say("offsets p%d start %d end>0 %v", p, start, end > 0)
	}

	retention := "3600000"
	err = admin.IncrementalAlterConfig(sarama.TopicResource, in, map[string]sarama.IncrementalAlterConfigsEntry{
		"retention.ms": {Operation: sarama.IncrementalAlterConfigsOperationSet, Value: &retention},
	}, false)
	say("alter configs %s", errName(err))
	entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: in, ConfigNames: []string{"retention.ms", "cleanup.policy"}})
	if err != nil {
		fail("describe configs", err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	for _, e := range entries {
		say("config %s=%s source %d", e.Name, e.Value, e.Source)
	}

	// Transactions: one committed, one aborted.
	txnConfig := func(id string) *sarama.Config {
		c := config()
		c.Producer.Idempotent = true
		c.Producer.RequiredAcks = sarama.WaitForAll
		c.Producer.Transaction.ID = id
		c.Net.MaxOpenRequests = 1
		return c
	}
	for _, end := range []string{"commit", "abort"} {
		p, err := sarama.NewSyncProducer(addrs, txnConfig("sarama-txn-"+end+"-"+run))
		if err != nil {
			fail("transactional producer", err)
		}
		if err := p.BeginTxn(); err != nil {
			fail("begin", err)
		}
		if err := p.SendMessages(messages(out, 30, end)); err != nil {
			fail("send in transaction", err)
		}
		if end == "commit" {
			err = p.CommitTxn()
		} else {
			err = p.AbortTxn()
		}
		say("transaction %s %s", end, errName(err))
		p.Close()
	}
	produce(config(), out, 3, "after") // read_committed reads past the abort to these
	committed := config()
	committed.Consumer.IsolationLevel = sarama.ReadCommitted
	say("read_committed %s", readAll(committed, out, 33))
	say("read_uncommitted %s", readAll(config(), out, 63))

	say("delete group %s", errName(admin.DeleteConsumerGroup(group)))
}
