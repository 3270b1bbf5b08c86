export type * from './slack-shapes.ts';
export {
  channelId,
  REPLICA_BOT,
  REPLICA_TEAM,
  type ReplicaChannel,
  type ReplicaChannelInput,
  type ReplicaMessage,
  type ReplicaRequest,
  type SlackReplica,
  type SlackReplicaFaults,
  type SlackReplicaOptions,
  SUPPORTED_METHODS,
  startSlackReplica,
} from './start-slack-replica.ts';
