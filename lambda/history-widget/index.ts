import { dynamoDb } from '../common/clients';
import { historyWidget, HistoryWidgetEvent } from './history-widget';

/** The release history custom widget of a fleet's dashboard: returns HTML. */
export const handler = async (event: HistoryWidgetEvent): Promise<string> => historyWidget(event, { dynamoDb });
