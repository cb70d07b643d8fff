// A Kafka Streams application with exactly-once processing, for
// tests/java/test_kafka_streams.py: run with the JDK's source launcher against the jars in
// .cache/kafka. Prints one line per observation and nothing else on stdout; never decides
// whether the broker was right: the Python test compares Odradek's lines with Kafka's.
//
//   java -cp '<jars>' StreamsProbe.java BOOTSTRAP RUN_ID STATE_DIR [serve]
//
// The application counts words (a repartition topic, and a RocksDB store with its changelog)
// under exactly_once_v2 with the record cache off, so every word read is one update in the
// output. It runs through four phases, each ending once the output holds the expected count
// of every word: one instance; a second instance joining (tasks move, and their stores are
// restored from the changelog on the newcomer); the first instance leaving; and a fresh
// instance with its local state wiped (every store restored from the changelog). Lines:
// "phase N counts <word=count,...>" and "phase N updates <n>" (output records a
// read_committed reader sees in all), then the internal topics with their partition count
// and cleanup.policy, and whether the repartition topic was purged (its start offset moved).
//
// With `serve`, the topics must exist: one instance runs, prints "RUNNING" once it does, and
// leaves when its standard input closes. The test feeds and reads the topics itself, and
// kills the instance or the broker in between.

import java.io.File;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;

public class StreamsProbe {
    static final String[] WORDS = {
        "alder", "birch", "cedar", "dogwood", "elm", "fir", "ginkgo", "hazel", "ironwood",
        "juniper", "kapok"};
    static final int PARTITIONS = 3;
    static final int PER_PHASE = 200;
    static final Duration PHASE_LIMIT = Duration.ofSeconds(120);

    final String bootstrap;
    final String app;
    final String input;
    final String output;
    final File stateDir;
    final Map<String, Long> expected = new TreeMap<>();
    final Map<String, Long> seen = new TreeMap<>();
    long updates = 0;
    int sent = 0;
    KafkaConsumer<String, Long> reader;
    KafkaProducer<String, String> writer;

    StreamsProbe(String bootstrap, String run, String stateDir) {
        this.bootstrap = bootstrap;
        this.app = "ks-" + run;
        this.input = "ks-in-" + run;
        this.output = "ks-out-" + run;
        this.stateDir = new File(stateDir);
    }

    public static void main(String[] args) throws Exception {
        StreamsProbe probe = new StreamsProbe(args[0], args[1], args[2]);
        if (args.length > 3 && args[3].equals("serve")) {
            probe.serve();
        } else {
            probe.run();
        }
    }

    void serve() throws Exception {
        KafkaStreams streams = start("serve");
        System.out.println("RUNNING");
        System.out.flush();
        while (System.in.read() != -1) {
            // runs until the test closes our standard input (or kills us)
        }
        leave(streams);
    }

    void run() throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            admin.createTopics(List.of(
                new NewTopic(input, PARTITIONS, (short) 1),
                new NewTopic(output, PARTITIONS, (short) 1))).all().get();
        }
        writer = new KafkaProducer<>(Map.of(
            "bootstrap.servers", bootstrap,
            "key.serializer", "org.apache.kafka.common.serialization.StringSerializer",
            "value.serializer", "org.apache.kafka.common.serialization.StringSerializer"));
        reader = new KafkaConsumer<>(Map.of(
            "bootstrap.servers", bootstrap,
            "isolation.level", "read_committed",
            "key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer",
            "value.deserializer", "org.apache.kafka.common.serialization.LongDeserializer"));
        List<TopicPartition> out = new ArrayList<>();
        for (int p = 0; p < PARTITIONS; p++) {
            out.add(new TopicPartition(output, p));
        }
        reader.assign(out);
        reader.seekToBeginning(out);

        KafkaStreams first = start("a");
        phase(1);
        KafkaStreams second = start("b");
        phase(2);
        leave(first);
        phase(3);
        leave(second);
        KafkaStreams fresh = streams("b");
        fresh.cleanUp();  // the local stores are gone: every task restores its changelog
        running(fresh);
        phase(4);
        leave(fresh);
        reader.close();
        writer.close();
        internalTopics();
    }

    KafkaStreams streams(String instance) {
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, app);
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        props.put(StreamsConfig.STATE_DIR_CONFIG, new File(stateDir, instance).getPath());
        props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
        props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
        props.put(StreamsConfig.REPARTITION_PURGE_INTERVAL_MS_CONFIG, 100);
        // A killed instance's tasks move once the group notices it is gone.
        props.put(StreamsConfig.consumerPrefix("session.timeout.ms"), 6000);
        props.put(StreamsConfig.consumerPrefix("heartbeat.interval.ms"), 1000);
        props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
        props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
        StreamsBuilder builder = new StreamsBuilder();
        builder.stream(input, Consumed.with(Serdes.String(), Serdes.String()))
            .flatMapValues(line -> List.of(line.split(" ")))
            .groupBy((key, word) -> word, Grouped.with("by-word", Serdes.String(), Serdes.String()))
            .count(Materialized.as("counts"))
            .toStream()
            .to(output, Produced.with(Serdes.String(), Serdes.Long()));
        return new KafkaStreams(builder.build(), props);
    }

    /** Closes `streams` with a LeaveGroup, so the others take its tasks at once (without
     * it the group waits out the member's session timeout). */
    static void leave(KafkaStreams streams) {
        streams.close(CloseOptions.groupMembershipOperation(
            CloseOptions.GroupMembershipOperation.LEAVE_GROUP).withTimeout(Duration.ofSeconds(30)));
    }

    KafkaStreams start(String instance) throws InterruptedException {
        KafkaStreams streams = streams(instance);
        running(streams);
        return streams;
    }

    void running(KafkaStreams streams) throws InterruptedException {
        streams.start();
        long deadline = System.nanoTime() + PHASE_LIMIT.toNanos();
        while (streams.state() != KafkaStreams.State.RUNNING) {
            if (System.nanoTime() > deadline || !streams.state().isRunningOrRebalancing()) {
                throw new IllegalStateException("streams never ran: " + streams.state());
            }
            Thread.sleep(50);
        }
    }

    /** Writes this phase's lines and waits until the output counts every word read. */
    void phase(int n) throws ExecutionException, InterruptedException {
        long began = System.nanoTime();
        for (int i = 0; i < PER_PHASE; i++, sent++) {
            String line = WORDS[sent % 5] + " " + WORDS[sent % 7] + " " + WORDS[sent % 11];
            for (String word : line.split(" ")) {
                expected.merge(word, 1L, Long::sum);
            }
            writer.send(new ProducerRecord<>(input, "k" + sent, line)).get();
        }
        long deadline = System.nanoTime() + PHASE_LIMIT.toNanos();
        while (!seen.equals(expected)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(
                    "phase " + n + ": counted " + seen + ", expected " + expected);
            }
            for (ConsumerRecord<String, Long> r : reader.poll(Duration.ofMillis(200))) {
                seen.put(r.key(), r.value());
                updates++;
            }
        }
        System.out.println("phase " + n + " counts " + seen.entrySet().stream()
            .map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(",")));
        System.out.println("phase " + n + " updates " + updates);
        System.err.printf("phase %d took %.1f s%n", n, (System.nanoTime() - began) / 1e9);
    }

    void internalTopics() throws ExecutionException, InterruptedException {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            Set<String> names = new TreeSet<>();
            for (String name : admin.listTopics().names().get()) {
                if (name.startsWith(app + "-")) {
                    names.add(name);
                }
            }
            Map<String, TopicDescription> described = admin.describeTopics(names).allTopicNames().get();
            List<ConfigResource> resources = names.stream()
                .map(name -> new ConfigResource(ConfigResource.Type.TOPIC, name)).toList();
            Map<ConfigResource, Config> configs = admin.describeConfigs(resources).all().get();
            for (String name : names) {
                Config config = configs.get(new ConfigResource(ConfigResource.Type.TOPIC, name));
                System.out.println("internal " + name.substring(app.length() + 1)
                    + " partitions=" + described.get(name).partitions().size()
                    + " cleanup.policy=" + config.get("cleanup.policy").value());
            }
            String repartition = app + "-by-word-repartition";
            Map<TopicPartition, OffsetSpec> earliest = new HashMap<>();
            for (int p = 0; p < PARTITIONS; p++) {
                earliest.put(new TopicPartition(repartition, p), OffsetSpec.earliest());
            }
            long start = 0;
            for (ListOffsetsResult.ListOffsetsResultInfo info
                    : admin.listOffsets(earliest).all().get().values()) {
                start += info.offset();
            }
            System.out.println("repartition purged " + (start > 0));
        }
    }
}
