#!/usr/bin/env bash
# Regenerates the reference assignments that kafka-listener's range and roundrobin assignors are
# tested against (kafka-listener/src/group/assignor/java_vectors.json), from kafka-clients' own
# assignor classes. Needs Java 17+ and Maven (dependencies come from Maven Central).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../../../kafka-listener/src/group/assignor/java_vectors.json"
cd "$here"
mvn -q -B compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
java -cp "target/classes:$(cat target/classpath.txt)" dev.kafkalistener.interop.AssignorVectors > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out"
