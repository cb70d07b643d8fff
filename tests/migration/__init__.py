"""Moving a team's data from the bundled broker to an Apache Kafka cluster."""
