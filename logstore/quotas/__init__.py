"""Client quotas (Kafka's producer_byte_rate, consumer_byte_rate and the rest): what is
stored, how it is checked, and how a client over its quota is throttled."""
