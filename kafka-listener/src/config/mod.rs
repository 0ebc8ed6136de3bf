//! Spring Boot configuration: `application.yml` / `application.properties` → Kafka properties.
