//! `deploy/docker-compose.yml` cannot be started here (there is no Docker engine), so these tests
//! check what `docker compose up` depends on without running it: every advertised listener is
//! bound and published, every quorum voter is a node with a controller listener on that port, and
//! the cluster settings match what `deploy/local/kafka.sh --brokers 3` (the cluster CI actually
//! runs) writes. The order-service container is checked the same way: its bootstrap servers,
//! bound from the sample's application.yml with the environment compose gives it, are the
//! brokers' internal listeners; its port is published; its Dockerfile builds that example.
//! They need neither a broker nor Docker; only `bash` and `python3` for the script.

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

/// Services that run an application rather than a Kafka node.
const APP_SERVICES: [&str; 1] = ["order-service"];

/// One service of the compose file, reduced to what the checks need.
#[derive(Debug)]
struct ComposeNode {
    service: String,
    hostname: String,
    image: String,
    /// `host:container` port publications.
    published: Vec<(u16, u16)>,
    env: BTreeMap<String, String>,
    /// `build.context` and `build.dockerfile`, for services built from this repository.
    build: Option<(String, String)>,
    /// Services this one starts after.
    depends_on: Vec<String>,
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

/// The Kafka nodes of the compose file: every service but the applications.
fn compose_nodes() -> Vec<ComposeNode> {
    compose_services()
        .into_iter()
        .filter(|s| !APP_SERVICES.contains(&s.service.as_str()))
        .collect()
}

fn compose_service(name: &str) -> ComposeNode {
    compose_services()
        .into_iter()
        .find(|s| s.service == name)
        .unwrap_or_else(|| panic!("deploy/docker-compose.yml has no service {name}"))
}

fn compose_services() -> Vec<ComposeNode> {
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
            let build = field("build").map(|build| match build.as_str() {
                Some(context) => (context.to_owned(), "Dockerfile".to_owned()),
                None => (
                    build
                        .as_mapping_get("context")
                        .map(|c| scalar_text(c, "build.context"))
                        .unwrap_or_else(|| ".".to_owned()),
                    build
                        .as_mapping_get("dockerfile")
                        .map(|d| scalar_text(d, "build.dockerfile"))
                        .unwrap_or_else(|| "Dockerfile".to_owned()),
                ),
            });
            let depends_on = match field("depends_on") {
                None => Vec::new(),
                Some(list) => match list.as_vec() {
                    Some(names) => names
                        .iter()
                        .map(|n| scalar_text(n, "depends_on entry"))
                        .collect(),
                    None => list
                        .as_mapping()
                        .unwrap_or_else(|| panic!("{service_name}: depends_on is a list or a map"))
                        .keys()
                        .map(|n| scalar_text(n, "depends_on entry"))
                        .collect(),
                },
            };
            ComposeNode {
                build,
                depends_on,
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

#[test]
fn compose_holds_the_three_kafka_nodes_and_the_order_service() {
    let names: BTreeSet<String> = compose_services().into_iter().map(|s| s.service).collect();
    let expected: BTreeSet<String> = ["kafka-1", "kafka-2", "kafka-3", "order-service"]
        .map(String::from)
        .into();
    assert_eq!(names, expected);
}

/// The sample's application.yml bound exactly as the container binds it: with the environment
/// compose gives the order-service container and nothing from this machine.
fn order_service_properties() -> kafka_listener::config::KafkaProperties {
    let service = compose_service("order-service");
    kafka_listener::config::ConfigLoader::new()
        .env(service.env.clone())
        .load_yaml_file(repo_root().join("examples/order_service/application.yml"))
        .expect("the sample's application.yml binds with the container's environment")
}

#[test]
fn order_service_container_bootstraps_from_every_brokers_internal_listener() {
    let nodes = compose_nodes();
    let properties = order_service_properties();
    let clients = [
        ("consumer", properties.consumer_connection()),
        ("producer", properties.producer_connection()),
        ("admin", properties.admin_connection()),
    ];
    for (client, connection) in clients {
        let mut reached = BTreeSet::new();
        for server in connection.bootstrap_servers() {
            let (host, port) = server
                .rsplit_once(':')
                .unwrap_or_else(|| panic!("{client}: bootstrap server {server:?} has no port"));
            let port: u16 = port
                .parse()
                .unwrap_or_else(|e| panic!("{client}: {server:?}: port: {e}"));
            let node = nodes
                .iter()
                .find(|n| n.hostname == host || n.service == host)
                .unwrap_or_else(|| {
                    panic!(
                        "{client}: {server} names no Kafka service; inside the compose network \
                         the brokers are {:?}",
                        nodes.iter().map(|n| &n.hostname).collect::<Vec<_>>()
                    )
                });
            let advertised = node
                .advertised_listeners()
                .into_iter()
                .find(|l| l.host == host && l.port == port)
                .unwrap_or_else(|| {
                    panic!(
                        "{client}: {server} is not a listener {} advertises ({})",
                        node.service,
                        node.env("KAFKA_ADVERTISED_LISTENERS")
                    )
                });
            assert_eq!(
                node.listener(&advertised.name).port,
                port,
                "{client}: {server} is advertised but {} binds {} elsewhere",
                node.service,
                advertised.name
            );
            assert!(
                reached.insert(node.node_id()),
                "{client}: broker {} listed twice",
                node.service
            );
        }
        assert_eq!(
            reached,
            nodes.iter().map(ComposeNode::node_id).collect(),
            "{client}: bootstrap lists every broker, so it bootstraps with any one of them down"
        );
    }
}

#[test]
fn order_service_container_listens_on_its_published_port_after_the_brokers_start() {
    let service = compose_service("order-service");
    let properties = order_service_properties();
    let port: u16 = properties
        .get("server.port")
        .unwrap()
        .expect("server.port is set")
        .parse()
        .expect("server.port is a number");
    let address = properties
        .get("server.address")
        .unwrap()
        .expect("server.address is set");
    assert_eq!(
        address, "0.0.0.0",
        "inside a container the API must listen on all interfaces to be reachable through the \
         published port"
    );
    assert_eq!(
        service.published,
        vec![(port, port)],
        "the API's port {port} is published 1:1"
    );
    let kafka_services: BTreeSet<String> = compose_nodes().into_iter().map(|n| n.service).collect();
    assert_eq!(
        service.depends_on.iter().cloned().collect::<BTreeSet<_>>(),
        kafka_services,
        "order-service starts after every broker"
    );
}

/// `[[example]]` names in the root Cargo.toml, with their paths.
fn cargo_examples() -> BTreeMap<String, String> {
    let manifest = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
    let mut examples = BTreeMap::new();
    let mut in_example = false;
    let mut name = None;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_example = line == "[[example]]";
            name = None;
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"').to_owned();
        match key.trim() {
            "name" if in_example => name = Some(value),
            "path" if in_example => {
                let name = name
                    .clone()
                    .expect("an [[example]] names itself before its path");
                examples.insert(name, value);
            }
            _ => {}
        }
    }
    examples
}

#[test]
fn order_service_image_builds_the_example_in_release_and_runs_it_as_non_root() {
    let service = compose_service("order-service");
    let (context, dockerfile) = service
        .build
        .clone()
        .expect("order-service is built from this repository");
    let context = repo_root()
        .join("deploy")
        .join(&context)
        .canonicalize()
        .unwrap_or_else(|e| panic!("build context {context}: {e}"));
    assert_eq!(
        context,
        repo_root().canonicalize().unwrap(),
        "the build context is the repository root, which holds the workspace"
    );
    let dockerfile_path = context.join(&dockerfile);
    let text = std::fs::read_to_string(&dockerfile_path)
        .unwrap_or_else(|e| panic!("{}: {e}", dockerfile_path.display()));
    let instructions: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();

    let stages: Vec<&str> = instructions
        .iter()
        .filter(|l| l.starts_with("FROM "))
        .copied()
        .collect();
    assert!(stages.len() >= 2, "a multi-stage build: {stages:?}");
    let build_stage = stages[0]
        .split_once(" AS ")
        .map(|(_, name)| name.trim())
        .expect("the first stage is named (FROM … AS build)");

    // The build stage compiles an example this workspace really has, in release mode.
    let build = text
        .split("FROM ")
        .nth(1)
        .expect("a build stage")
        .replace("\\\n", " ");
    let cargo_build = build
        .lines()
        .find(|l| l.contains("cargo build"))
        .expect("the build stage runs cargo build");
    assert!(cargo_build.contains("--release"), "{cargo_build}");
    assert!(cargo_build.contains("--locked"), "{cargo_build}");
    let example = cargo_build
        .split_whitespace()
        .skip_while(|w| *w != "--example")
        .nth(1)
        .expect("cargo build --example NAME");
    let examples = cargo_examples();
    let path = examples
        .get(example)
        .unwrap_or_else(|| panic!("Cargo.toml has no [[example]] {example}: {examples:?}"));
    assert!(
        repo_root().join(path).is_file(),
        "example {example}: {path}"
    );
    assert!(
        build.contains(&format!("target/release/examples/{example}")),
        "the build stage copies out the release binary of {example}"
    );

    // The runtime stage: the binary from the build stage, its configuration, a non-root user.
    let runtime: Vec<&str> = instructions
        .iter()
        .skip_while(|l| **l != *stages.last().unwrap())
        .copied()
        .collect();
    assert!(
        runtime
            .iter()
            .any(|l| l.starts_with(&format!("COPY --from={build_stage} "))),
        "the runtime stage copies the binary from stage {build_stage}"
    );
    let user = runtime
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the runtime stage sets USER");
    let uid = user.split(':').next().unwrap().trim();
    assert!(
        uid != "root" && uid != "0",
        "the service must not run as root (USER {user})"
    );
    let config_copy = runtime
        .iter()
        .find(|l| l.starts_with("COPY examples/order_service/application.yml "))
        .expect("the image carries the sample's application.yml");
    let config_in_image = config_copy.split_whitespace().last().unwrap();
    assert!(
        runtime
            .iter()
            .any(|l| l.contains(&format!("ORDER_SERVICE_CONFIG={config_in_image}"))),
        "ORDER_SERVICE_CONFIG points at {config_in_image}, where the file is copied"
    );
    let ignore = std::fs::read_to_string(format!("{}.dockerignore", dockerfile_path.display()))
        .expect("the Dockerfile has its own .dockerignore");
    assert!(
        ignore
            .lines()
            .any(|l| l.trim().trim_end_matches('/').ends_with("target")),
        "build output stays out of the build context"
    );
}
