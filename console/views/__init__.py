"""Function views, one module per page family. Each renders a full page or, for htmx
requests, just the fragment. Views never call the Kafka clients directly: they go through
`console.kafka`."""
