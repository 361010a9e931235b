// Original file: proto/containerd/services/introspection/v1/introspection.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { PluginsRequest as _containerd_services_introspection_v1_PluginsRequest, PluginsRequest__Output as _containerd_services_introspection_v1_PluginsRequest__Output } from '../../../../containerd/services/introspection/v1/PluginsRequest.js';
import type { PluginsResponse as _containerd_services_introspection_v1_PluginsResponse, PluginsResponse__Output as _containerd_services_introspection_v1_PluginsResponse__Output } from '../../../../containerd/services/introspection/v1/PluginsResponse.js';

export interface IntrospectionClient extends grpc.Client {
  Plugins(argument: _containerd_services_introspection_v1_PluginsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_containerd_services_introspection_v1_PluginsResponse__Output>): grpc.ClientUnaryCall;
  Plugins(argument: _containerd_services_introspection_v1_PluginsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_containerd_services_introspection_v1_PluginsResponse__Output>): grpc.ClientUnaryCall;
  Plugins(argument: _containerd_services_introspection_v1_PluginsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_containerd_services_introspection_v1_PluginsResponse__Output>): grpc.ClientUnaryCall;
  Plugins(argument: _containerd_services_introspection_v1_PluginsRequest, callback: grpc.requestCallback<_containerd_services_introspection_v1_PluginsResponse__Output>): grpc.ClientUnaryCall;
  plugins(argument: _containerd_services_introspection_v1_PluginsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_containerd_services_introspection_v1_PluginsResponse__Output>): grpc.ClientUnaryCall;
  plugins(argument: _containerd_services_introspection_v1_PluginsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_containerd_services_introspection_v1_PluginsResponse__Output>): grpc.ClientUnaryCall;
  plugins(argument: _containerd_services_introspection_v1_PluginsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_containerd_services_introspection_v1_PluginsResponse__Output>): grpc.ClientUnaryCall;
  plugins(argument: _containerd_services_introspection_v1_PluginsRequest, callback: grpc.requestCallback<_containerd_services_introspection_v1_PluginsResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface IntrospectionHandlers extends grpc.UntypedServiceImplementation {
  Plugins: grpc.handleUnaryCall<_containerd_services_introspection_v1_PluginsRequest__Output, _containerd_services_introspection_v1_PluginsResponse>;
  
}

export interface IntrospectionDefinition extends grpc.ServiceDefinition {
  Plugins: MethodDefinition<_containerd_services_introspection_v1_PluginsRequest, _containerd_services_introspection_v1_PluginsResponse, _containerd_services_introspection_v1_PluginsRequest__Output, _containerd_services_introspection_v1_PluginsResponse__Output>
}
