import { createHash } from 'node:crypto';
import { Arn, CustomResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { Construct } from 'constructs';
import { Colour, DnsRecordsProperties, DnsRecordType, Route53Config } from './private/contract';
import { nagResource } from './private/nag-resource';
import { providerFunction } from './private/fleet-resources';

/** What the weighted records are built from. */
export interface DnsRecordsProps {
  /** The hosted zone the records are created in. */
  readonly zone: route53.IHostedZone;
  /** Fully qualified record name, lower case, without the trailing dot. */
  readonly recordName: string;
  /** `A` for alias records, `CNAME` for records with `ttl`. */
  readonly recordType: DnsRecordType;
  /**
   * TTL of CNAME records.
   * @default - none: alias records
   */
  readonly ttl?: Duration;
  /** The blue colour's load balancer. */
  readonly blue: elbv2.IApplicationLoadBalancer;
  /** The green colour's load balancer. */
  readonly green: elbv2.IApplicationLoadBalancer;
  /**
   * How long the provider's log group keeps its events.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Removal policy of the provider's log group.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Two weighted Route 53 records (set identifiers `blue` and `green`) pointing at each colour's
 * load balancer, created by a custom resource that writes the weights only on create (blue 100,
 * green 0). Every later update keeps the weights the records have at that moment, so a
 * `cdk deploy` never moves traffic: the cutover workflow owns the weights.
 */
export class DnsRecords extends Construct {
  /** The hosted zone. */
  public readonly zone: route53.IHostedZone;
  /** Fully qualified record name, lower case, without the trailing dot. */
  public readonly recordName: string;
  /** `A` (alias records) or `CNAME`. */
  public readonly recordType: DnsRecordType;
  /** The custom resource holding the records. */
  public readonly resource: CustomResource;
  /** The function that creates, updates and deletes them. */
  public readonly provider: lambda.Function;
  /**
   * The records as the cutover handlers see them.
   * @internal
   */
  public readonly _config: Route53Config;
  /**
   * The provider's permission to change these records: one policy per record name and zone
   * (its construct id ends with a hash of both), so a rename keeps the old name's until cleanup.
   */
  public readonly changePolicy: iam.Policy;

  constructor(scope: Construct, id: string, props: DnsRecordsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.zone = props.zone;
    this.recordName = props.recordName;
    this.recordType = props.recordType;
    const alias = props.recordType === 'A';
    // Alias records use the dualstack name, as Route 53 and CDK's LoadBalancerTarget do.
    const target = (lb: elbv2.IApplicationLoadBalancer) => ({
      dnsName: alias ? `dualstack.${lb.loadBalancerDnsName}` : lb.loadBalancerDnsName,
      hostedZoneId: lb.loadBalancerCanonicalHostedZoneId,
    });
    this._config = {
      hostedZoneId: props.zone.hostedZoneId,
      recordName: props.recordName,
      recordType: props.recordType,
      ...(alias ? {} : { ttlSeconds: props.ttl!.toSeconds() }),
      targets: { [Colour.BLUE]: target(props.blue), [Colour.GREEN]: target(props.green) },
    };

    const { fn, role } = providerFunction(this, {
      ids: { logs: 'ProviderLogs', role: 'ProviderRole', fn: 'Provider' },
      bundle: 'dns-records',
      roleDescription: `Creates the blue/green weighted records ${props.recordName}`,
      description: `Blue/green weighted records ${props.recordName}: created once, weights kept on update`,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.provider = fn;
    // Only these records' name, as A or CNAME records (the type may change in place), in a policy of
    // its own whose logical id is derived from the zone and the name. Renaming the records (or
    // moving them to another zone) adds the new name's policy, which CloudFormation creates before
    // it updates the records resource (which depends on it), and removes the old name's policy only
    // during cleanup, after every update succeeded: while the provider moves the records, it may
    // change both names. Updating one policy in place would take the old name's permission away first.
    const zoneKey = JSON.stringify(stack.resolve(props.zone.hostedZoneId));
    const nameHash = createHash('sha256').update(`${zoneKey} ${props.recordName}`).digest('hex').slice(0, 8).toUpperCase();
    this.changePolicy = new iam.Policy(this, `ChangeRecords${nameHash}`, {
      roles: [role],
      statements: [new iam.PolicyStatement({
        actions: ['route53:ChangeResourceRecordSets'],
        resources: [props.zone.hostedZoneArn],
        conditions: {
          'ForAllValues:StringEquals': {
            'route53:ChangeResourceRecordSetsNormalizedRecordNames': [props.recordName],
            'route53:ChangeResourceRecordSetsRecordTypes': ['A', 'CNAME'],
            'route53:ChangeResourceRecordSetsActions': ['CREATE', 'UPSERT', 'DELETE'],
          },
        },
      })],
    });
    // Reading any zone lets an update that moves the records carry the live weights over.
    const anyZone = Arn.format({ service: 'route53', region: '', account: '', resource: 'hostedzone', resourceName: '*' }, stack);
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['route53:ListResourceRecordSets'], resources: [anyZone] }));
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagResource(stack, anyZone)}]`,
      reason: 'Read-only: when recordName or the zone changes, the provider reads the old records to keep the live weights. Changes are limited to this zone and record name.',
    });

    const properties: DnsRecordsProperties = {
      HostedZoneId: this._config.hostedZoneId,
      RecordName: this._config.recordName,
      RecordType: this._config.recordType,
      ...(this._config.ttlSeconds !== undefined ? { Ttl: this._config.ttlSeconds } : {}),
      Targets: {
        [Colour.BLUE]: { DnsName: this._config.targets.blue.dnsName, HostedZoneId: this._config.targets.blue.hostedZoneId },
        [Colour.GREEN]: { DnsName: this._config.targets.green.dnsName, HostedZoneId: this._config.targets.green.hostedZoneId },
      },
    };
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: this.provider.functionArn,
      resourceType: 'Custom::BlueGreenDnsRecords',
      properties: { ...properties },
    });
    // The policies must be in place before the provider runs, and still there when it deletes.
    this.resource.node.addDependency(role, this.changePolicy);
  }
}
