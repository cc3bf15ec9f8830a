"""Model files into specs: safe XML, BPMN parsing with the Camunda attributes, project rules, DMN, serialization."""
