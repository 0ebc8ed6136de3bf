//! `deploy/docker-compose.yml` cannot be started here (there is no Docker engine), so these tests
//! check what `docker compose up` depends on without running it: every advertised listener is
//! bound and published, every quorum voter is a node with a controller listener on that port, and
//! the cluster settings match what `deploy/local/kafka.sh --brokers 3` (the cluster CI actually
//! runs) writes. They need neither a broker nor Docker; only `bash` and `python3` for the script.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use saphyr::{LoadableYamlNode, Yaml};

/// The host ports the seed project published and its users' applications already point at.
const HOST_PORTS: [u16; 3] = [29092, 39092, 49092];

/// server.properties keys that describe one machine (addresses, paths) or this machine's small
/// footprint rather than how the cluster behaves; compared structurally or not at all.
const SCRIPT_ONLY_KEYS: [&str; 10] = [
    "listeners",
    "advertised.listeners",
    "controller.quorum.voters",
    "listener.security.protocol.map",
    "log.dirs",
    "num.network.threads",
    "num.io.threads",
    "num.recovery.threads.per.data.dir",
    "log.retention.hours",
    "log.segment.bytes",
];

/// Compose environment entries that are container wiring, checked by the listener/voter tests.
const COMPOSE_ONLY_KEYS: [&str; 6] = [
    "CLUSTER_ID",
    "KAFKA_LISTENERS",
    "KAFKA_ADVERTISED_LISTENERS",
    "KAFKA_CONTROLLER_QUORUM_VOTERS",
    "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
    "KAFKA_LOG_DIRS",
];

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One service of the compose file, reduced to what the checks need.
#[derive(Debug)]
struct ComposeNode {
    service: String,
    hostname: String,
    image: String,
    /// `host:container` port publications.
    published: Vec<(u16, u16)>,
    env: BTreeMap<String, String>,
}

impl ComposeNode {
    fn env(&self, key: &str) -> &str {
        self.env
            .get(key)
            .unwrap_or_else(|| panic!("service {} does not set {key}", self.service))
    }

    fn node_id(&self) -> u32 {
        self.env("KAFKA_NODE_ID")
            .parse()
            .unwrap_or_else(|e| panic!("service {}: KAFKA_NODE_ID: {e}", self.service))
    }

    fn listeners(&self) -> Vec<Listener> {
        parse_listeners(self.env("KAFKA_LISTENERS"))
    }

    fn advertised_listeners(&self) -> Vec<Listener> {
        parse_listeners(self.env("KAFKA_ADVERTISED_LISTENERS"))
    }

    fn listener(&self, name: &str) -> Listener {
        self.listeners()
            .into_iter()
            .find(|l| l.name == name)
            .unwrap_or_else(|| panic!("service {} has no {name} listener", self.service))
    }
}

/// `NAME://host:port` from a Kafka listener list.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listener {
    name: String,
    host: String,
    port: u16,
}

fn parse_listeners(list: &str) -> Vec<Listener> {
    list.split(',')
        .map(|entry| {
            let (name, address) = entry
                .split_once("://")
                .unwrap_or_else(|| panic!("listener {entry:?} is not NAME://host:port"));
            let (host, port) = address
                .rsplit_once(':')
                .unwrap_or_else(|| panic!("listener {entry:?} has no port"));
            Listener {
                name: name.to_owned(),
                host: host.to_owned(),
                port: port
                    .parse()
                    .unwrap_or_else(|e| panic!("listener {entry:?}: port: {e}")),
            }
        })
        .collect()
}

/// `id@host:port` entries of `controller.quorum.voters`, keyed by node id.
fn parse_voters(list: &str) -> BTreeMap<u32, (String, u16)> {
    let mut voters = BTreeMap::new();
    for entry in list.split(',') {
        let (id, address) = entry
            .split_once('@')
            .unwrap_or_else(|| panic!("voter {entry:?} is not id@host:port"));
        let (host, port) = address
            .rsplit_once(':')
            .unwrap_or_else(|| panic!("voter {entry:?} has no port"));
        let id: u32 = id
            .parse()
            .unwrap_or_else(|e| panic!("voter {entry:?}: id: {e}"));
        let port: u16 = port
            .parse()
            .unwrap_or_else(|e| panic!("voter {entry:?}: port: {e}"));
        assert!(
            voters.insert(id, (host.to_owned(), port)).is_none(),
            "voter id {id} appears twice in {list:?}"
        );
    }
    voters
}

/// `NAME:PROTOCOL` pairs of `listener.security.protocol.map`.
fn parse_protocol_map(list: &str) -> BTreeMap<String, String> {
    list.split(',')
        .map(|pair| {
            let (name, protocol) = pair
                .split_once(':')
                .unwrap_or_else(|| panic!("protocol map entry {pair:?} is not NAME:PROTOCOL"));
            (name.to_owned(), protocol.to_owned())
        })
        .collect()
}

/// A scalar as the text a Kafka config would see: `1` and `"1"` are the same setting.
fn scalar_text(node: &Yaml, what: &str) -> String {
    if let Some(s) = node.as_str() {
        s.to_owned()
    } else if let Some(i) = node.as_integer() {
        i.to_string()
    } else if let Some(b) = node.as_bool() {
        b.to_string()
    } else {
        panic!("{what} is not a scalar: {node:?}")
    }
}

fn compose_nodes() -> Vec<ComposeNode> {
    let path = repo_root().join("deploy/docker-compose.yml");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let docs = Yaml::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()));
    assert_eq!(docs.len(), 1, "the compose file holds exactly one document");
    let services = docs[0]
        .as_mapping_get("services")
        .and_then(Yaml::as_mapping)
        .expect("compose file has a `services` mapping");
    services
        .iter()
        .map(|(name, service)| {
            let service_name = scalar_text(name, "service name");
            let field = |key: &str| service.as_mapping_get(key);
            let env = field("environment")
                .and_then(Yaml::as_mapping)
                .unwrap_or_else(|| panic!("service {service_name} has no environment mapping"))
                .iter()
                .map(|(k, v)| {
                    let key = scalar_text(k, "environment key");
                    let value = scalar_text(v, &format!("{service_name}.environment.{key}"));
                    (key, value)
                })
                .collect();
            let published = field("ports")
                .and_then(Yaml::as_vec)
                .map(|ports| {
                    ports
                        .iter()
                        .map(|p| {
                            let text = scalar_text(p, &format!("{service_name}.ports"));
                            let (host, container) = text.split_once(':').unwrap_or_else(|| {
                                panic!("{service_name}: port {text:?} is not HOST:CONTAINER")
                            });
                            (
                                host.parse().expect("host port is a number"),
                                container.parse().expect("container port is a number"),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            ComposeNode {
                hostname: field("hostname")
                    .map(|h| scalar_text(h, "hostname"))
                    .unwrap_or_else(|| service_name.clone()),
                image: field("image")
                    .map(|i| scalar_text(i, "image"))
                    .unwrap_or_default(),
                service: service_name,
                published,
                env,
            }
        })
        .collect()
}

/// The server.properties `kafka.sh config --brokers N` prints, one map per broker in node order.
fn script_configs(brokers: u32) -> Vec<BTreeMap<String, String>> {
    let output = run_script_config(&brokers.to_string());
    assert!(
        output.status.success(),
        "kafka.sh config --brokers {brokers} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("kafka.sh prints UTF-8");
    let mut configs: Vec<BTreeMap<String, String>> = Vec::new();
    for line in stdout.lines() {
        if line.starts_with("### broker ") {
            configs.push(BTreeMap::new());
        } else if let Some((key, value)) = line.split_once('=') {
            if !line.starts_with('#') {
                configs
                    .last_mut()
                    .expect("a `### broker K` header precedes every property")
                    .insert(key.trim().to_owned(), value.trim().to_owned());
            }
        }
    }
    configs
}

fn run_script_config(brokers: &str) -> std::process::Output {
    let script = repo_root().join("deploy/local/kafka.sh");
    Command::new("bash")
        .arg(&script)
        .args(["config", "--brokers", brokers])
        // Never touch a state dir someone's running cluster may be using.
        .env(
            "KAFKA_STATE_DIR",
            std::env::temp_dir().join("deploy-compose-test"),
        )
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", script.display()))
}

/// `offsets.topic.replication.factor` → `KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR`, the apache/kafka
/// image's mapping from environment to server.properties.
fn compose_env_name(property: &str) -> String {
    format!("KAFKA_{}", property.replace('.', "_").to_uppercase())
}

fn property_name(env_name: &str) -> String {
    env_name
        .trim_start_matches("KAFKA_")
        .to_lowercase()
        .replace('_', ".")
}

#[test]
fn compose_runs_three_kraft_combined_nodes_of_kafka_4_4_without_zookeeper() {
    let nodes = compose_nodes();
    assert_eq!(nodes.len(), 3, "three services, one per Kafka node");
    let text = std::fs::read_to_string(repo_root().join("deploy/docker-compose.yml")).unwrap();
    for node in &nodes {
        assert_eq!(node.image, "apache/kafka:4.4.0", "service {}", node.service);
        assert_eq!(
            node.env("KAFKA_PROCESS_ROLES"),
            "broker,controller",
            "service {} is a combined node",
            node.service
        );
        assert!(
            node.env
                .keys()
                .all(|k| !k.to_uppercase().contains("ZOOKEEPER")),
            "service {} still configures ZooKeeper, which Kafka 4 removed",
            node.service
        );
    }
    assert!(
        !text
            .lines()
            .any(|l| !l.trim_start().starts_with('#') && l.to_lowercase().contains("zookeeper")),
        "only comments may mention ZooKeeper"
    );
    let ids: BTreeSet<u32> = nodes.iter().map(ComposeNode::node_id).collect();
    assert_eq!(ids, BTreeSet::from([1, 2, 3]), "node ids are 1, 2 and 3");

    let cluster_ids: BTreeSet<&str> = nodes.iter().map(|n| n.env("CLUSTER_ID")).collect();
    assert_eq!(cluster_ids.len(), 1, "all nodes format with one cluster id");
    let cluster_id = cluster_ids.into_iter().next().unwrap();
    assert_eq!(cluster_id.len(), 22, "a cluster id is a base64url UUID");
    assert!(cluster_id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
}

#[test]
fn every_quorum_voter_is_a_node_with_a_controller_listener_on_that_port() {
    let nodes = compose_nodes();
    let voter_lists: BTreeSet<&str> = nodes
        .iter()
        .map(|n| n.env("KAFKA_CONTROLLER_QUORUM_VOTERS"))
        .collect();
    assert_eq!(voter_lists.len(), 1, "every node has the same voter list");
    let voters = parse_voters(voter_lists.into_iter().next().unwrap());
    assert_eq!(voters.len(), 3, "a 3-voter quorum");

    for (id, (host, port)) in &voters {
        let node = nodes
            .iter()
            .find(|n| &n.hostname == host || &n.service == host)
            .unwrap_or_else(|| panic!("voter {id}@{host}:{port} names no service"));
        assert_eq!(node.node_id(), *id, "voter {id} points at {}", node.service);
        let controller_name = node.env("KAFKA_CONTROLLER_LISTENER_NAMES");
        assert_eq!(node.listener(controller_name).port, *port);
    }
}

#[test]
fn every_advertised_listener_is_bound_mapped_and_has_a_protocol() {
    for node in compose_nodes() {
        let listeners = node.listeners();
        let protocols = parse_protocol_map(node.env("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"));
        for listener in &listeners {
            assert!(
                protocols.contains_key(&listener.name),
                "{}: listener {} has no security protocol",
                node.service,
                listener.name
            );
        }
        let controller_name = node.env("KAFKA_CONTROLLER_LISTENER_NAMES");
        let inter_broker = node.env("KAFKA_INTER_BROKER_LISTENER_NAME");
        let advertised = node.advertised_listeners();
        assert!(
            advertised.iter().all(|l| l.name != controller_name),
            "{}: the controller listener must not be advertised to clients",
            node.service
        );
        assert!(
            advertised.iter().any(|l| l.name == inter_broker),
            "{}: the inter-broker listener {inter_broker} must be advertised",
            node.service
        );
        for ad in &advertised {
            let bound = node.listener(&ad.name);
            if ad.host == "localhost" || ad.host == "127.0.0.1" {
                // Reached from the host: Docker must publish the advertised port onto the
                // container port the listener binds.
                assert!(
                    node.published.contains(&(ad.port, bound.port)),
                    "{}: {} advertises {}:{} but publishes {:?}",
                    node.service,
                    ad.name,
                    ad.host,
                    ad.port,
                    node.published
                );
            } else {
                // Reached over the compose network: the name must be this container's.
                assert_eq!(ad.host, node.hostname, "{}: {}", node.service, ad.name);
                assert_eq!(ad.port, bound.port, "{}: {}", node.service, ad.name);
            }
        }
        for (host, container) in &node.published {
            assert!(
                advertised
                    .iter()
                    .any(|l| l.port == *host && l.port == *container),
                "{}: publishes {host}:{container}, which no listener advertises",
                node.service
            );
        }
    }
}

#[test]
fn host_facing_ports_are_the_seeds_and_the_readme_names_them() {
    let host_ports: BTreeSet<u16> = compose_nodes()
        .iter()
        .flat_map(|n| n.published.iter().map(|(host, _)| *host))
        .collect();
    assert_eq!(host_ports, BTreeSet::from(HOST_PORTS));

    let readme = std::fs::read_to_string(repo_root().join("deploy/README.md")).unwrap();
    let bootstrap = HOST_PORTS.map(|p| format!("localhost:{p}")).join(",");
    assert!(
        readme.contains(&bootstrap),
        "deploy/README.md tells users to connect to {bootstrap}"
    );
}

#[test]
fn local_script_with_three_brokers_uses_the_same_kraft_settings_as_compose() {
    let nodes = compose_nodes();
    let configs = script_configs(3);
    assert_eq!(
        configs.len(),
        3,
        "kafka.sh config --brokers 3 prints three brokers"
    );

    for (index, config) in configs.iter().enumerate() {
        let node_id: u32 = config["node.id"].parse().unwrap();
        assert_eq!(
            node_id as usize,
            index + 1,
            "brokers are printed in node order"
        );
        let node = nodes
            .iter()
            .find(|n| n.node_id() == node_id)
            .unwrap_or_else(|| panic!("compose has no node {node_id}"));

        for (key, value) in config {
            if SCRIPT_ONLY_KEYS.contains(&key.as_str()) {
                continue;
            }
            let env_name = compose_env_name(key);
            assert_eq!(
                node.env.get(&env_name).map(String::as_str),
                Some(value.as_str()),
                "kafka.sh sets {key}={value}; compose service {} must set {env_name} alike",
                node.service
            );
        }
        for env_name in node.env.keys() {
            if COMPOSE_ONLY_KEYS.contains(&env_name.as_str()) {
                continue;
            }
            let key = property_name(env_name);
            assert!(
                config.contains_key(&key),
                "compose service {} sets {env_name}, which kafka.sh --brokers 3 lacks ({key})",
                node.service
            );
        }

        // Same quorum shape and listener roles; addresses necessarily differ.
        let script_voters = parse_voters(&config["controller.quorum.voters"]);
        let compose_voters = parse_voters(node.env("KAFKA_CONTROLLER_QUORUM_VOTERS"));
        assert_eq!(
            script_voters.keys().collect::<Vec<_>>(),
            compose_voters.keys().collect::<Vec<_>>(),
            "same voter ids"
        );
        let script_listeners = parse_listeners(&config["listeners"]);
        let controller_port = script_listeners
            .iter()
            .find(|l| l.name == config["controller.listener.names"])
            .expect("kafka.sh binds its controller listener")
            .port;
        assert_eq!(script_voters[&node_id].1, controller_port);
        assert!(script_listeners.iter().all(|l| l.host == "127.0.0.1"));
        let script_protocols = parse_protocol_map(&config["listener.security.protocol.map"]);
        let compose_protocols =
            parse_protocol_map(node.env("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"));
        for (name, protocol) in &script_protocols {
            assert_eq!(
                compose_protocols.get(name),
                Some(protocol),
                "listener {name}"
            );
        }
    }
}

#[test]
fn local_script_sizes_internal_topics_for_a_single_broker() {
    let configs = script_configs(1);
    assert_eq!(configs.len(), 1);
    let config = &configs[0];
    assert_eq!(config["offsets.topic.replication.factor"], "1");
    assert_eq!(config["transaction.state.log.replication.factor"], "1");
    assert_eq!(config["transaction.state.log.min.isr"], "1");
    assert_eq!(config["group.initial.rebalance.delay.ms"], "0");
    assert_eq!(config["auto.create.topics.enable"], "true");
    assert_eq!(parse_voters(&config["controller.quorum.voters"]).len(), 1);
}

#[test]
fn local_script_refuses_cluster_sizes_other_than_one_or_three() {
    for bad in ["2", "4", "0", "three"] {
        let output = run_script_config(bad);
        assert!(!output.status.success(), "--brokers {bad} must be refused");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("--brokers must be 1 or 3"),
            "--brokers {bad}: unhelpful error {stderr:?}"
        );
    }
}
