// Package deploy holds template.yaml, the SAM template at the repository's
// root, to the code: its tests check that the template is valid, that its
// DynamoDB tables are the ones package dynamo uses, that its environment
// gives serve what it needs on Lambda, and that its IAM grants are exactly
// the AWS operations the code calls. It has no code of its own.
package deploy
