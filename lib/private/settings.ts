import { Duration, Names, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { IConstruct } from 'constructs';
import { BlueGreenFleetProps, FleetAlarmOptions } from '../fleet-props';
import { TrafficSwitch } from '../traffic-switch';
import { DEFAULTS } from './defaults';
import { listenerPortAndProtocol, MAX_RULE_PRIORITY } from './listener-rules';

/** A fleet's props with every default applied: the one place the fleet's defaults are decided. */
export interface FleetSettings {
  readonly trafficSwitch: TrafficSwitch;
  readonly route53: boolean;
  /** Protocol of the listeners the fleet creates and of the one the smoke tests call. */
  readonly protocol: elbv2.ApplicationProtocol;
  readonly https: boolean;
  readonly certificates: elbv2.IListenerCertificate[];
  readonly sslPolicy?: elbv2.SslPolicy;
  /** The production listener's port (a listener passed in: its own). */
  readonly productionPort: number;
  /** The port the smoke tests call: the test listener's, or with Route 53 the production port of each colour's own load balancer. */
  readonly testPort: number;
  readonly internetFacing: boolean;
  readonly minCapacity: number;
  readonly maxCapacity: number;
  readonly instancePort: number;
  readonly vpcSubnets: ec2.SubnetSelection;
  readonly healthCheck: {
    readonly path: string;
    /** Undefined: the traffic port. */
    readonly port?: number;
    readonly protocol: elbv2.Protocol;
    readonly interval: Duration;
    readonly timeout: Duration;
    readonly healthyThresholdCount: number;
    readonly unhealthyThresholdCount: number;
    readonly healthyHttpCodes: string;
  };
  readonly deregistrationDelay: Duration;
  readonly healthCheckGracePeriod: Duration;
  readonly initialVersion: string;
  readonly parameterPrefix: string;
  readonly alarms: FleetAlarmOptions;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** The production and test rules' conditions and priority (listener-rule switch). */
  readonly listenerRule: { readonly conditions: elbv2.ListenerCondition[]; readonly priority: number };
}

/**
 * The settings of a fleet: `props` with every default applied. Validation checks props with the
 * same defaults (it calls this with `scope` undefined, when the parameter prefix is not needed),
 * the fleet builds from the result. Never throws: values are checked by validation, not here.
 */
export function fleetSettings(props: BlueGreenFleetProps, scope?: IConstruct): FleetSettings {
  const route53 = props.trafficSwitch?.isRoute53 === true;
  const certificates = props.certificates ?? [];
  const knownTest = props.testListener && !route53 ? listenerPortAndProtocol(props.testListener) : {};
  const knownProduction = props.productionListener && !route53 ? listenerPortAndProtocol(props.productionListener) : {};
  const protocol = props.protocol ?? knownTest.protocol ?? (certificates.length > 0 ? elbv2.ApplicationProtocol.HTTPS : elbv2.ApplicationProtocol.HTTP);
  const https = protocol === elbv2.ApplicationProtocol.HTTPS;
  const productionPort = knownProduction.port ?? props.productionPort ?? (https ? DEFAULTS.httpsPort : DEFAULTS.httpPort);
  const minCapacity = props.capacity?.minCapacity ?? DEFAULTS.minCapacity;
  const hc = props.healthCheck ?? {};
  return {
    trafficSwitch: props.trafficSwitch ?? TrafficSwitch.listenerRule(),
    route53,
    protocol,
    https,
    certificates,
    sslPolicy: props.sslPolicy,
    productionPort,
    testPort: route53 ? productionPort : knownTest.port ?? props.testPort ?? (https ? DEFAULTS.httpsTestPort : DEFAULTS.httpTestPort),
    internetFacing: props.internetFacing ?? true,
    minCapacity,
    maxCapacity: props.capacity?.maxCapacity ?? Math.max(minCapacity, DEFAULTS.maxCapacityFloor),
    instancePort: props.instancePort ?? DEFAULTS.instancePort,
    vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    healthCheck: {
      path: hc.path ?? DEFAULTS.healthCheckPath,
      port: hc.port,
      protocol: hc.protocol ?? elbv2.Protocol.HTTP,
      interval: hc.interval ?? DEFAULTS.healthCheckInterval,
      timeout: hc.timeout ?? DEFAULTS.healthCheckTimeout,
      healthyThresholdCount: hc.healthyThresholdCount ?? DEFAULTS.healthyThresholdCount,
      unhealthyThresholdCount: hc.unhealthyThresholdCount ?? DEFAULTS.unhealthyThresholdCount,
      healthyHttpCodes: hc.healthyHttpCodes ?? DEFAULTS.healthyHttpCodes,
    },
    deregistrationDelay: props.deregistrationDelay ?? DEFAULTS.deregistrationDelay,
    healthCheckGracePeriod: props.healthCheckGracePeriod ?? DEFAULTS.healthCheckGracePeriod,
    initialVersion: props.initialVersion ?? DEFAULTS.initialVersion,
    parameterPrefix: props.parameterPrefix ?? (scope ? `/blue-green/${Names.uniqueId(scope)}` : ''),
    alarms: props.alarms ?? {},
    logRetention: props.logRetention ?? DEFAULTS.logRetention,
    removalPolicy: props.removalPolicy ?? DEFAULTS.removalPolicy,
    listenerRule: {
      conditions: props.listenerRule?.conditions ?? [elbv2.ListenerCondition.pathPatterns(['/*'])],
      priority: props.listenerRule?.priority ?? MAX_RULE_PRIORITY,
    },
  };
}
