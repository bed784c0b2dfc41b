#!/bin/sh
# An MPI hello world as a multi-node parallel job (the seed's run_master.sh pattern), for OpenBatch's
# local executor: every node is a process on this host and the nodes share a directory
# ($MPI_SHARED_DIR). Each worker writes its address there and waits; the main node waits for all
# of them, builds an MPI hostfile from the addresses and runs mpirun across the nodes' slots.
# Needs Debian's openmpi-bin (apt-get install -y openmpi-bin).
set -eu
: "${MPI_SHARED_DIR:?set MPI_SHARED_DIR to a directory every node sees}"
NODE=$AWS_BATCH_JOB_NODE_INDEX
MAIN=$AWS_BATCH_JOB_MAIN_NODE_INDEX
N=$AWS_BATCH_JOB_NUM_NODES
# On one host every node's address is the loopback one (AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS is 127.0.0.1).
ADDRESS=127.0.0.1

if [ "$NODE" != "$MAIN" ]; then
  echo "worker $NODE of $N: main node at $AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS"
  echo "$ADDRESS" > "$MPI_SHARED_DIR/node-$NODE.tmp" && mv "$MPI_SHARED_DIR/node-$NODE.tmp" "$MPI_SHARED_DIR/node-$NODE"
  # Stay up while MPI runs (a real node would run sshd/orted here); the main node's exit stops us.
  while [ ! -e "$MPI_SHARED_DIR/done" ]; do sleep 0.1; done
  exit 0
fi

echo "main node $NODE of $N: waiting for $((N - 1)) workers"
echo "$ADDRESS" > "$MPI_SHARED_DIR/node-$NODE"
while [ "$(ls "$MPI_SHARED_DIR" | grep -c '^node-[0-9]*$')" -lt "$N" ]; do sleep 0.1; done
# One hostfile line per address, its slots the number of nodes there.
cat "$MPI_SHARED_DIR"/node-* | sort | uniq -c | awk '{ print $2 " slots=" $1 }' > "$MPI_SHARED_DIR/hostfile"
echo "hostfile:"; cat "$MPI_SHARED_DIR/hostfile"
status=0
mpirun --allow-run-as-root --hostfile "$MPI_SHARED_DIR/hostfile" -np "$N" \
  sh -c 'echo "hello from rank $OMPI_COMM_WORLD_RANK of $OMPI_COMM_WORLD_SIZE"' || status=$?
touch "$MPI_SHARED_DIR/done"
exit $status
