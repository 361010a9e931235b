// Original file: proto/containerd/services/introspection/v1/introspection.proto


export interface Plugin {
  'type'?: (string);
  'id'?: (string);
  'exports'?: ({[key: string]: string});
}

export interface Plugin__Output {
  'type': (string);
  'id': (string);
  'exports': ({[key: string]: string});
}
