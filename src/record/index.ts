// ROS 2 recording: CDR messages with real distro definitions, MCAP bags as rosbag2 writes them, episodes.
export * from './ros-messages.ts';
export * from './message-validation.ts';
export * from './cdr-codec.ts';
export * from './qos.ts';
export * from './topics.ts';
export * from './markers.ts';
export * from './bag-writer.ts';
export * from './bag-reader.ts';
export * from './episode-recorder.ts';
export * from './bag-episodes.ts';
